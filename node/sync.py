"""Pulling from peers: the imperative shell around ``federation`` and ``node.db.ingest``.

One pull of one peer: read its heads, then for each origin it holds further than we do,
fetch pages after our tip ("after N" is exclusive: a page starts at N + 1) and apply each
page with its new tip in one transaction. The hub's origin goes first, so a roster change
(a newly admitted node, a rotated or revoked key) is known before that node's records
arrive. A peer that fails is backed off (state in the ``peers`` table); a peer in backoff
is skipped, never waited on; one failing peer never stops the others.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import ValidationError
from sqlmodel import Session

from federation import backoff
from federation.client import PeerClient
from federation.errors import HealthnetError, PeerBadResponse, PeerError
from federation.keys import public_key
from federation.signing import verify_envelope
from federation.trust import Trust
from node import roster
from node.db import store
from node.db.engine import writer
from node.db.ingest import PageResult, ingest_page, tip_of
from node.db.tables import Peer
from node.runtime import Runtime
from schemas.instants import format_utc, parse_utc
from schemas.record import Envelope
from schemas.roster import NodeStatus, RosterBody, RosterNode
from schemas.sync import Heads, Nudge

log = logging.getLogger(__name__)

PARALLEL_PULLS = 4


@dataclass
class PullResult:
    peer: str
    ok: bool
    applied: int = 0
    rejected: int = 0
    error: str = ""
    stopped: list[str] = field(default_factory=list)


def _last_seq(records: Sequence[Any]) -> int | None:
    try:
        seq = records[-1]["record"]["seq"]
    except (KeyError, TypeError, IndexError):
        return None
    return seq if type(seq) is int else None


class Syncer:
    def __init__(self, runtime: Runtime, http: httpx.AsyncClient | None = None) -> None:
        self.runtime = runtime
        self.http = http
        self.trust: Trust | None = None
        self.heads: dict[str, Heads] = {}  # last heads seen per peer, for lag and agreement
        self._locks: dict[str, asyncio.Lock] = {}
        self._again: set[str] = set()
        self.on_page: Callable[[str, PageResult], None] = lambda origin, result: None
        self.on_reject: Callable[[str], None] = lambda reason: None
        # Ed25519 verification releases the GIL: two threads verify a page about 1.7x as
        # fast on a 2-core machine. Made on first use, so an idle node holds no threads.
        self._pool: ThreadPoolExecutor | None = None
        self._last_reload = 0.0
        self._background: set[asyncio.Future[PullResult]] = set()
        self.reload_trust()

    def _verifier_pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="verify")
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    @property
    def client(self) -> PeerClient:
        if self.http is None:
            raise RuntimeError("the syncer has no HTTP client (the app's lifespan sets one)")
        return PeerClient(self.http, deadline=self.runtime.settings.sync_request_deadline_seconds)

    def reload_trust(self) -> Trust | None:
        with Session(self.runtime.engine) as session:
            self.trust = roster.load_trust(session, self.runtime.settings)
        return self.trust

    def peers(self) -> list[RosterNode]:
        trust = self.trust
        if trust is None:
            return []
        me = self.runtime.settings.node_id
        return [
            n for n in trust.nodes.values() if n.node_id != me and n.status is NodeStatus.ACTIVE
        ]

    async def bootstrap(self) -> None:
        """A regional node without a roster fetches the hub's current one from the hub URL
        it was given, accepts it only if it is signed by exactly the pinned key, and then
        pulls the hub's log from seq 1, checked against that roster's key windows (so hub
        records signed by keys older than the pinned one verify too)."""
        trust, settings = self.trust, self.runtime.settings
        if trust is None or trust.version > 0 or not settings.hub_url:
            return
        raw = await self.client.roster("hub", settings.hub_url)
        try:
            envelope = Envelope.model_validate(raw)
            body = RosterBody.model_validate(raw["body"])
            header = envelope.record
            hub = next(n for n in body.nodes if n.node_id == body.hub == header.origin)
            signer = next(k for k in hub.keys if k.key_id == header.key_id)
            if signer.public_key != settings.hub_key or header.kind != "roster":
                raise HealthnetError(
                    f"the hub's roster is signed with {header.key_id}, not the pinned key"
                )
            verify_envelope(raw, public_key(settings.hub_key))
        except (HealthnetError, ValidationError, StopIteration, KeyError, TypeError) as exc:
            log.error("cannot bootstrap from the hub at %s: %s", settings.hub_url, exc)
            raise PeerBadResponse(f"bootstrap: {exc}", peer="hub") from exc
        self.trust = Trust.from_roster(body, header.version)
        hub_entry = self.trust.node(self.trust.hub)
        await self.pull(hub_entry.model_copy(update={"url": settings.hub_url}), force=True)

    async def sync_all(self, *, force: bool = False, wait: float | None = None) -> list[PullResult]:
        """Pull from every active peer. ``wait`` bounds how long this call waits (the
        scheduler passes its interval): a pull still running then carries on in the
        background, and its per-peer lock keeps the next round from starting it twice."""
        # The roster may have changed under us (the hub operator's CLI writes to the same
        # database), so every round starts from the roster as stored.
        await asyncio.to_thread(self.reload_trust)
        try:
            await self.bootstrap()
        except PeerError as exc:
            log.warning("bootstrap failed: %s", exc)
        # Peers are pulled side by side (a few at a time), so a slow or hostile peer delays
        # nobody else; each pull has its own per-request deadlines (federation.client).
        gate = asyncio.Semaphore(PARALLEL_PULLS)

        async def one(peer: RosterNode) -> PullResult:
            async with gate:
                return await self.pull(peer, force=force)

        tasks = [asyncio.ensure_future(one(p)) for p in self.peers()]
        if not tasks:
            return []
        done, pending = await asyncio.wait(tasks, timeout=wait)
        for task in pending:  # keep a reference until it ends, or it may be collected
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return [t.result() for t in tasks if t in done]

    async def pull(
        self, peer: RosterNode, *, force: bool = False, only: str | None = None
    ) -> PullResult:
        lock = self._locks.setdefault(peer.node_id, asyncio.Lock())
        if lock.locked() and not force:
            self._again.add(peer.node_id)  # a pull is running: run once more after it
            return PullResult(peer.node_id, ok=True, error="already running")
        async with lock:
            result = await self._guarded(peer, force=force, only=only)
            while peer.node_id in self._again:
                self._again.discard(peer.node_id)
                result = await self._guarded(peer, force=True, only=None)
            return result

    async def _guarded(self, peer: RosterNode, *, force: bool, only: str | None) -> PullResult:
        """The outermost wrapper of one pull: whatever goes wrong with this peer is logged,
        counted as a failure (backoff) and never stops the pulls from the others."""
        try:
            return await self._pull_once(peer, force=force, only=only)
        except Exception as exc:  # noqa: BLE001 - the job boundary; see the docstring
            log.exception("sync with peer %s failed unexpectedly", peer.node_id)
            result = PullResult(peer.node_id, ok=False, error=f"internal: {type(exc).__name__}")
            await asyncio.to_thread(self._record_outcome, peer, result)
            return result

    async def _pull_once(self, peer: RosterNode, *, force: bool, only: str | None) -> PullResult:
        now = self.runtime.clock()
        state = await asyncio.to_thread(self._peer_state, peer)
        next_at = (
            parse_utc(state.next_attempt)
            if state.next_attempt
            else None
        )
        if not force and not backoff.due(next_at, now):
            return PullResult(peer.node_id, ok=False, error="backing off")
        result = PullResult(peer.node_id, ok=True)
        try:
            heads = await self.client.heads(peer.node_id, peer.url)
            self.heads[peer.node_id] = heads
            order = sorted(
                heads.origins, key=lambda h: h.origin != (self.trust.hub if self.trust else "")
            )
            for head in order:
                if head.origin == self.runtime.settings.node_id or (only and head.origin != only):
                    continue
                await self._pull_origin(peer, head.origin, head.last_seq, result)
            await self._refetch_withheld(peer, heads, result)
        except PeerError as exc:
            result.ok, result.error = False, str(exc)
            log.warning("sync with peer %s failed: %s", peer.node_id, exc)
        await asyncio.to_thread(self._record_outcome, peer, result)
        return result

    async def _pull_origin(
        self, peer: RosterNode, origin: str, their_last: int, result: PullResult
    ) -> None:
        """Pages after our tip, each applied with its tip in one transaction. The next page
        is requested while the current one is verified and stored (it starts after the
        current page's last seq); if the current page stops short, it is dropped."""
        settings = self.runtime.settings
        mine = await asyncio.to_thread(self._tip, origin)
        ahead: asyncio.Task[Any] | None = None
        try:
            for _ in range(settings.sync_max_pages):
                trust = self.trust
                if trust is None or origin not in trust.nodes or mine >= their_last:
                    return  # caught up, or an origin we do not (yet) trust
                if ahead is not None:
                    page = await ahead
                    ahead = None
                    if page.after != mine:
                        continue  # prefetched from a tip we did not reach; ask again
                else:
                    page = await self._fetch(peer, origin, mine)
                if not page.records:
                    return
                last = _last_seq(page.records)
                if last is not None and mine < last < their_last:
                    ahead = asyncio.ensure_future(self._fetch(peer, origin, last))
                applied = await asyncio.to_thread(
                    self._apply, peer.node_id, origin, page.records, trust
                )
                result.applied += applied.applied
                result.rejected += sum(applied.rejected.values())
                self.on_page(origin, applied)
                if applied.roster_changed:
                    self.reload_trust()
                if applied.stopped:
                    result.stopped.append(f"{origin}: {applied.stopped}")
                    return
                if applied.tip <= mine:
                    return
                mine = applied.tip
        finally:
            if ahead is not None:
                ahead.cancel()
                if ahead.done() and not ahead.cancelled():
                    ahead.exception()  # retrieved, so it is not reported as lost

    async def _fetch(self, peer: RosterNode, origin: str, after: int) -> Any:
        return await self.client.records(
            peer.node_id,
            peer.url,
            origin=origin,
            after=after,
            limit=self.runtime.settings.sync_page_size,
        )

    async def _refetch_withheld(self, peer: RosterNode, heads: Heads, result: PullResult) -> None:
        """Ask this peer again for seqs that another relay served without their body."""
        theirs = {h.origin: h.last_seq for h in heads.origins}
        missing = await asyncio.to_thread(self._withheld)
        for origin, seq in missing:
            trust = self.trust
            if trust is None or origin not in trust.nodes or theirs.get(origin, 0) < seq:
                continue
            page = await self.client.records(
                peer.node_id, peer.url, origin=origin, after=seq - 1, limit=1
            )
            if page.records:
                applied = await asyncio.to_thread(
                    self._apply, peer.node_id, origin, page.records, trust
                )
                if applied.filled:
                    log.info("restored withheld %s seq %s from peer %s", origin, seq, peer.node_id)

    def _withheld(self) -> list[tuple[str, int]]:
        with Session(self.runtime.engine) as session:
            return store.withheld(session, limit=50)

    def _tip(self, origin: str) -> int:
        with Session(self.runtime.engine) as session:
            return tip_of(session, origin=origin).seq

    def _apply(self, peer: str, origin: str, records: Sequence[Any], trust: Trust) -> PageResult:
        with Session(writer(self.runtime.engine)) as session:
            result = ingest_page(
                session,
                origin=origin,
                records=records,
                trust=trust,
                peer=peer,
                now=format_utc(self.runtime.clock()),
                on_reject=self.on_reject,
                pool=self._verifier_pool(),
            )
            session.commit()
        return result

    def _peer_state(self, peer: RosterNode) -> Peer:
        with Session(self.runtime.engine, expire_on_commit=False) as session:
            state = session.get(Peer, peer.node_id)
            return state or Peer(node_id=peer.node_id, url=peer.url)

    def _record_outcome(self, peer: RosterNode, result: PullResult) -> None:
        now = self.runtime.clock()
        with Session(writer(self.runtime.engine)) as session:
            state = session.get(Peer, peer.node_id) or Peer(node_id=peer.node_id, url=peer.url)
            state.url = peer.url
            state.last_attempt = format_utc(now)
            if result.ok:
                state.failures = 0
                state.next_attempt = None
                state.last_success = format_utc(now)
                state.last_error = "; ".join(result.stopped)[:1000]
                state.records_in += result.applied
            else:
                state.failures += 1
                state.next_attempt = format_utc(
                    backoff.next_attempt(state.failures, now, random.random())
                )
                state.last_error = result.error[:1000]
            session.add(state)
            session.commit()

    async def nudge_peers(self, seq: int) -> None:
        """Tell every peer that this node has new records up to ``seq``; best effort."""
        if not self.runtime.settings.nudge or self.http is None:
            return
        me = self.runtime.settings.node_id
        message = Nudge(node=me, origin=me, seq=seq)
        results = await asyncio.gather(
            *(self.client.nudge(p.node_id, p.url, message) for p in self.peers()),
            return_exceptions=True,
        )
        for peer, outcome in zip(self.peers(), results, strict=False):
            if isinstance(outcome, PeerError):
                log.info("nudge to %s failed: %s", peer.node_id, outcome.reason)

    def nudged(self, nudge: Nudge) -> bool:
        """A peer says it has news: pull from it now, in the background."""
        trust = self.trust
        if trust is not None and nudge.node not in trust.nodes:
            # Perhaps admitted since the last round: re-read the roster, at most once a second.
            now = time.monotonic()
            if now - self._last_reload > 1.0:
                self._last_reload = now
                trust = self.reload_trust()
        if (
            trust is None
            or nudge.node not in trust.nodes
            or nudge.node == self.runtime.settings.node_id
        ):
            return False
        peer = trust.nodes[nudge.node]
        if peer.status is not NodeStatus.ACTIVE:
            return False
        task = asyncio.get_running_loop().create_task(self.pull(peer, force=True))
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)
        return True
