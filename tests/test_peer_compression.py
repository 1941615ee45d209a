"""gzip between peers (node/web/compression.py, node/sync/client.py; PROTOCOL section 10).

A node compresses its federation responses for a peer that accepts gzip, and nothing
else; the client decodes them itself under its byte limit, so a hostile peer's small
compressed body cannot inflate past it.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from typing import Any

import httpx
import pytest
from support.factories import add_member
from support.nodes import Node

from federation.errors import PeerBadResponse
from node.sync.client import PeerClient
from node.web.compression import MINIMUM_BYTES

GZIP = {"Accept-Encoding": "gzip"}


def test_federation_pages_are_gzipped_for_a_peer_that_accepts_it(sqlite_node: Node) -> None:
    c = sqlite_node.client
    for i in range(5):
        add_member(sqlite_node, name=f"Gzip Member {i}")
    origin = c.get("/federation/heads").json()["node"]
    params = {"origin": origin, "after": 0, "limit": 50}
    plain = c.get("/federation/records", params=params, headers={"Accept-Encoding": "identity"})
    packed = c.get("/federation/records", params=params, headers=GZIP)
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.content == plain.content  # httpx decoded it: the same bytes
    assert int(packed.headers["content-length"]) < len(plain.content) // 2


def test_small_answers_pages_and_the_api_stay_plain(sqlite_node: Node) -> None:
    c = sqlite_node.client
    for i in range(25):
        add_member(sqlite_node, name=f"Plain Member {i}")
    small = c.get("/federation/no-such-endpoint", headers=GZIP)  # a 404 problem
    assert small.status_code == 404 and len(small.content) < MINIMUM_BYTES
    assert "content-encoding" not in small.headers
    for path in ("/", "/world", "/members?limit=25"):
        r = c.get(path, headers=GZIP)
        assert r.status_code == 200 and len(r.content) > MINIMUM_BYTES, path
        assert "content-encoding" not in r.headers, path  # BREACH: never a page


def _peer(body: bytes, encoding: str | None) -> httpx.AsyncClient:
    """A peer that answers every GET with ``body`` as it is, under ``encoding``."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"application/json")]
        if encoding is not None:
            headers.append((b"content-encoding", encoding.encode()))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app))


def _get(body: bytes, encoding: str | None, *, max_bytes: int = 1 << 20) -> bytes:
    async def run() -> bytes:
        async with _peer(body, encoding) as http:
            return await PeerClient(http, max_bytes=max_bytes)._get_bytes(
                "hn-peer", "http://peer.test/federation/heads"
            )

    return asyncio.run(run())


def test_the_client_decodes_gzip_and_plain_alike() -> None:
    data = b'{"node": "hn-peer", "origins": []}' * 100
    assert _get(gzip.compress(data), "gzip") == data
    assert _get(data, None) == data
    assert _get(data, "identity") == data


def test_a_gzip_bomb_stops_at_the_limit() -> None:
    bomb = gzip.compress(b"0" * (64 << 20), compresslevel=9)  # 64 MB in about 64 kB
    assert len(bomb) < 100_000
    with pytest.raises(PeerBadResponse, match="over 1048576 bytes"):
        _get(bomb, "gzip", max_bytes=1 << 20)
    exact = gzip.compress(b"1" * 1000)
    assert _get(exact, "gzip", max_bytes=1000) == b"1" * 1000
    with pytest.raises(PeerBadResponse, match="over 999 bytes"):
        _get(exact, "gzip", max_bytes=999)


@pytest.mark.parametrize(
    ("body", "encoding", "error"),
    [
        (b"{}", "br", "content-encoding 'br'"),
        (b"not gzip at all", "gzip", "bad gzip body"),
        (gzip.compress(b'{"a": 1}' * 50)[:-12], "gzip", "truncated gzip body"),
        (zlib.compress(b"{}"), "gzip", "bad gzip body"),  # zlib framing is not gzip
    ],
)
def test_bad_encodings_are_peer_errors(body: bytes, encoding: str, error: str) -> None:
    with pytest.raises(PeerBadResponse, match=error) as caught:
        _get(body, encoding)
    assert caught.value.peer == "hn-peer"
