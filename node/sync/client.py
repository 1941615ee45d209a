"""The HTTP side of sync: fetch heads, pages and the roster from a peer; send nudges.

The ``httpx.AsyncClient`` is handed in, never created here, so tests can route several
in-process nodes through ``ASGITransport`` and the node can share one connection pool.
Every httpx failure is mapped once, here, to ``PeerUnreachable`` or ``PeerBadResponse``,
and a response body is read with a byte limit, so a hostile peer cannot exhaust memory.
"""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from federation.canonical import loads, loads_page
from federation.errors import PeerBadResponse, PeerUnreachable, WireFormatError
from node.etags import usable
from schemas.sync import Checkpoints, EvidenceList, Heads, Nudge, RecordPage

MAX_RESPONSE_BYTES = 16 * 1024 * 1024
# httpx's timeouts bound each read, not a whole response: a peer dripping one byte a second
# would never time out. Every request gets a total deadline as well.
REQUEST_DEADLINE_SECONDS = 60.0
T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class SeenHeads:
    """A peer's heads and the tag it gave them (None if it gave none)."""

    heads: Heads
    etag: str | None


class PeerClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        max_bytes: int = MAX_RESPONSE_BYTES,
        deadline: float = REQUEST_DEADLINE_SECONDS,
    ) -> None:
        self.http = http
        self.max_bytes = max_bytes
        self.deadline = deadline

    async def _get(self, peer: str, url: str, params: dict[str, Any] | None = None) -> Any:
        return _parse_json(await self._get_bytes(peer, url, params), peer, url)

    async def _get_bytes(self, peer: str, url: str, params: dict[str, Any] | None = None) -> bytes:
        body, _ = await self._fetch(peer, url, params, None)
        assert body is not None  # no If-None-Match sent: _read refuses a 304
        return body

    async def _fetch(
        self, peer: str, url: str, params: dict[str, Any] | None, etag: str | None
    ) -> tuple[bytes | None, str | None]:
        """The body and the answer's entity tag; with ``etag`` sent as If-None-Match, no
        body when the peer answers 304 (not modified)."""
        try:
            async with asyncio.timeout(self.deadline):
                return await self._read(peer, url, params, etag)
        except TimeoutError as exc:
            raise PeerUnreachable(
                f"GET {url}: no complete answer within {self.deadline:.0f} s", peer=peer
            ) from exc

    async def _read(
        self, peer: str, url: str, params: dict[str, Any] | None, etag: str | None
    ) -> tuple[bytes | None, str | None]:
        headers = {"Accept-Encoding": "gzip"}
        if etag is not None:
            headers["If-None-Match"] = etag
        try:
            async with self.http.stream("GET", url, params=params, headers=headers) as response:
                if response.status_code == 304 and etag is not None:
                    return None, etag
                if response.status_code != 200:
                    raise PeerBadResponse(f"GET {url} answered {response.status_code}", peer=peer)
                tag = usable(response.headers.get("etag"))
                return await self._body(response, peer, url), tag
        except httpx.TransportError as exc:
            raise PeerUnreachable(f"GET {url}: {type(exc).__name__}: {exc}", peer=peer) from exc

    async def _body(self, response: httpx.Response, peer: str, url: str) -> bytes:
        """The decoded body, refused once it passes ``max_bytes``. gzip is decoded here, not
        by httpx, so that the limit bounds what is decoded: httpx would inflate a whole
        64 kB chunk first, and deflate expands up to 1,032 times."""
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip"):
            raise PeerBadResponse(f"GET {url}: content-encoding {encoding!r}", peer=peer)
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
        chunks: list[bytes] = []
        size = 0
        try:
            async for raw in response.aiter_raw():
                if inflate is None:
                    chunk, over = raw, False
                else:
                    chunk = inflate.decompress(raw, self.max_bytes - size + 1)
                    over = bool(inflate.unconsumed_tail)  # output stopped at the limit
                size += len(chunk)
                if over or size > self.max_bytes:
                    raise PeerBadResponse(self._too_big(url), peer=peer)
                chunks.append(chunk)
            if inflate is not None:
                chunks.append(inflate.flush())
                if size + len(chunks[-1]) > self.max_bytes:
                    raise PeerBadResponse(self._too_big(url), peer=peer)
                if not inflate.eof:
                    raise PeerBadResponse(f"GET {url}: truncated gzip body", peer=peer)
        except zlib.error as exc:
            raise PeerBadResponse(f"GET {url}: bad gzip body: {exc}", peer=peer) from exc
        return b"".join(chunks)

    def _too_big(self, url: str) -> str:
        return f"GET {url}: response over {self.max_bytes} bytes"

    def _parse(self, model: type[T], data: Any, peer: str, what: str) -> T:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise PeerBadResponse(
                f"{what}: not the protocol: {exc.errors()[0]}", peer=peer
            ) from exc

    async def heads(self, peer: str, base: str) -> Heads:
        return (await self.heads_since(peer, base, None)).heads

    async def heads_since(self, peer: str, base: str, known: SeenHeads | None) -> SeenHeads:
        """The peer's heads; ``known``, as they are, when the peer answers that the heads
        tagged ``known.etag`` are still its heads (304, docs/PROTOCOL.md 10.2)."""
        url = f"{base}/federation/heads"
        etag = known.etag if known is not None else None
        body, tag = await self._fetch(peer, url, None, etag)
        if body is None:
            assert known is not None  # a 304 is taken only when a tag was sent
            return known
        heads = self._parse(Heads, _parse_json(body, peer, url), peer, "heads")
        return SeenHeads(heads, tag)

    async def records(
        self, peer: str, base: str, *, origin: str, after: int, limit: int
    ) -> RecordPage:
        page, _ = await self.records_with_body(peer, base, origin=origin, after=after, limit=limit)
        return page

    async def records_with_body(
        self, peer: str, base: str, *, origin: str, after: int, limit: int
    ) -> tuple[RecordPage, bytes]:
        """A page and the response bytes it was parsed from (``node.sync.verifier_pool``
        checks the records in another process, from these bytes)."""
        params = {"origin": origin, "after": after, "limit": limit}
        url = f"{base}/federation/records"
        body = await self._get_bytes(peer, url, params)
        data = _parse_json(body, peer, url, page=True)
        page = self._parse(RecordPage, data, peer, "records")
        # Validation copies each record into a plain dict: keep the parsed ones, which carry
        # the mark of a record that broke I-JSON (checks.prepare refuses it).
        page.records[:] = data["records"]
        if page.origin != origin or page.after != after:
            raise PeerBadResponse("records: the page is not the one asked for", peer=peer)
        return page, body

    async def checkpoints(self, peer: str, base: str) -> list[Any]:
        """The peer's checkpoint cosignatures (docs/PROTOCOL.md 10.8), unchecked: the
        caller checks each one alone and drops those that fail."""
        data = await self._get(peer, f"{base}/federation/checkpoints")
        return self._parse(Checkpoints, data, peer, "checkpoints").cosignatures

    async def evidence(self, peer: str, base: str) -> list[Any]:
        """The peer's equivocation proofs (10.8), unchecked, as for checkpoints."""
        data = await self._get(peer, f"{base}/federation/evidence")
        return self._parse(EvidenceList, data, peer, "evidence").evidence

    async def roster(self, peer: str, base: str) -> dict[str, Any]:
        data = await self._get(peer, f"{base}/federation/roster")
        if not isinstance(data, dict):
            raise PeerBadResponse("roster: not an object", peer=peer)
        return data

    async def node_info(self, peer: str, base: str) -> dict[str, Any]:
        data = await self._get(peer, f"{base}/node")
        if not isinstance(data, dict):
            raise PeerBadResponse("node: not an object", peer=peer)
        return data

    async def nudge(self, peer: str, base: str, nudge: Nudge) -> None:
        try:
            response = await self.http.post(
                f"{base}/federation/nudge", json=nudge.model_dump(), timeout=2.0
            )
        except httpx.TransportError as exc:
            raise PeerUnreachable(f"nudge: {type(exc).__name__}", peer=peer) from exc
        if response.status_code >= 400:
            raise PeerBadResponse(f"nudge answered {response.status_code}", peer=peer)


def _parse_json(body: bytes, peer: str, url: str, *, page: bool = False) -> Any:
    try:
        # I-JSON: duplicate member names are refused (PROTOCOL.md 1.1), not last-wins. In a
        # page of records only the record that has them is refused (quarantined alone).
        return loads_page(body) if page else loads(body)
    except (WireFormatError, UnicodeDecodeError) as exc:
        raise PeerBadResponse(f"GET {url}: not I-JSON: {exc}", peer=peer) from exc
