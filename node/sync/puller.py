"""Pulling from peers: the imperative shell around ``federation`` and ``ingest``.

One pull of one peer: read its heads, then for each origin it holds further than we do,
fetch pages after our tip ("after N" is exclusive: a page starts at N + 1) and apply each
page with its new tip in one transaction. The hub's origin goes first, so a roster change
(a newly admitted node, a rotated or revoked key) is known before that node's records
arrive. A peer that fails is backed off (``PeerBook``); a peer in backoff is skipped,
never waited on; one failing peer never stops the others.

A pull of one peer runs in one process at a time, across every process of the node
(workers, replicas, ``healthnet sync``): each pull holds that peer's lock (node.sync.locks,
a lock file or a PostgreSQL advisory lock). Whichever process a nudge reaches pulls, under
the same lock the scheduled pulls take; that is simpler than forwarding nudges to the
scheduling process, needs no table, and is just as exclusive. A scheduled pull that finds
the peer locked skips it (whoever holds it is pulling it now); a nudged pull waits up to a
pull interval for it, so that records written after the other pull read the heads still
arrive at once rather than one interval later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import httpx

from federation.checks import Checked
from federation.errors import HealthnetError, PeerBadResponse, PeerError
from federation.pinning import accept_hub_roster
from federation.trust import Trust
from node.db import log
from node.db.session import Engine, Session, writer
from node.settings import NodeSettings
from node.sync import verifier_pool, withheld
from node.sync.checkers import Checkers
from node.sync.client import PeerClient, SeenHeads
from node.sync.ingest import PageResult, ingest_page
from node.sync.locks import Locks, acquire
from node.sync.peerbook import PeerBook
from node.sync.pulls import Fetched, PullResult, last_seq
from node.sync.trustbook import TrustBook
from node.sync.witnessing import Witnessing
from schemas.instants import format_utc
from schemas.roster import NodeStatus, RosterNode
from schemas.sync import Heads, Nudge

logger = logging.getLogger(__name__)

PARALLEL_PULLS = 4

PageHook = Callable[[str, PageResult], None]
RejectHook = Callable[[str], None]


class Puller:
    """Pulls for one node. Everything it needs is handed in; ``on_page`` and ``on_reject``
    let the metrics (or the CLI's progress bar) watch without the puller knowing them."""

    def __init__(
        self,
        *,
        engine: Engine,
        settings: NodeSettings,
        clock: Callable[[], datetime],
        trust: TrustBook,
        peers: PeerBook,
        http: httpx.AsyncClient,
        on_page: PageHook = lambda origin, result: None,
        on_reject: RejectHook = lambda reason: None,
        locks: Locks,
        far_behind: int = verifier_pool.FAR_BEHIND,
    ) -> None:
        self.engine = engine
        self.locks = locks
        self.settings = settings
        self.clock = clock
        self.trust = trust
        self.peers = peers
        self.client = PeerClient(http, deadline=settings.sync_request_deadline_seconds)
        self.witnessing = Witnessing(
            engine=engine, settings=settings, clock=clock, trust=trust, client=self.client
        )
        self.on_page = on_page
        self.on_reject = on_reject
        self._locks: dict[str, asyncio.Lock] = {}
        self._again: set[str] = set()
        self.checkers = Checkers()
        self.far_behind = far_behind
        self._background: set[asyncio.Future[PullResult]] = set()
        # Per peer (id and URL), the heads it showed last and their tag: sent back as
        # If-None-Match, so unchanged heads cost a bodiless 304. A cache of this process;
        # losing it (a restart, another worker pulling) costs one full answer.
        self._seen: dict[tuple[str, str], SeenHeads] = {}

    def close(self) -> None:
        self.checkers.close()

    async def bootstrap(self) -> None:
        """A regional node without a roster fetches the hub's current one from the hub URL
        it was given, accepts it only if it is signed by exactly the pinned key
        (``federation.pinning``), and then pulls the hub's log from seq 1, checked against
        that roster's key windows (so hub records signed by older keys verify too)."""
        trust, settings = self.trust.current, self.settings
        if trust is None or trust.version > 0 or not settings.hub_url:
            return
        raw = await self.client.roster("hub", settings.hub_url)
        try:
            body, version = accept_hub_roster(raw, hub_key=settings.hub_key)
        except HealthnetError as exc:
            logger.error("cannot bootstrap from the hub at %s: %s", settings.hub_url, exc)
            raise PeerBadResponse(f"bootstrap: {exc}", peer="hub") from exc
        adopted = Trust.from_roster(body, version)
        self.trust.adopt(adopted)
        hub_entry = adopted.node(adopted.hub)
        await self.pull(hub_entry.model_copy(update={"url": settings.hub_url}), force=True)

    async def sync_all(self, *, force: bool = False, wait: float | None = None) -> list[PullResult]:
        """Pull from every active peer. ``wait`` bounds how long this call waits (the
        scheduler passes its interval): a pull still running then carries on in the
        background, and its per-peer lock keeps the next round from starting it twice."""
        # The roster may have changed under us (another process writes to the same
        # database), so every round starts from the roster as stored.
        await asyncio.to_thread(self.trust.reload)
        try:
            await self.bootstrap()
        except PeerError as exc:
            logger.warning("bootstrap failed: %s", exc)
        # Peers are pulled side by side (a few at a time), so a slow or hostile peer delays
        # nobody else; each pull has its own per-request deadlines (sync.client).
        gate = asyncio.Semaphore(PARALLEL_PULLS)

        async def one(peer: RosterNode) -> PullResult:
            async with gate:
                return await self.pull(peer, force=force)

        tasks = [asyncio.ensure_future(one(p)) for p in self.trust.peers()]
        if not tasks:
            return []
        done, pending = await asyncio.wait(tasks, timeout=wait)
        for task in pending:  # keep a reference until it ends, or it may be collected
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return [t.result() for t in tasks if t in done]

    async def pull(
        self,
        peer: RosterNode,
        *,
        force: bool = False,
        only: str | None = None,
        patience: float = 0.0,
        nudge: Nudge | None = None,
    ) -> PullResult:
        """Pull ``peer`` unless this process is pulling it already (then once more after
        that pull), or another process is and stays so for ``patience`` seconds. With
        ``nudge``, the pull goes straight to the origin it names (``_pull_nudged``)."""
        lock = self._locks.setdefault(peer.node_id, asyncio.Lock())
        if lock.locked() and not force:
            self._again.add(peer.node_id)  # a pull is running: run once more after it
            return PullResult(peer.node_id, ok=True, error="already running")
        async with lock:
            lease = await acquire(self.locks, f"pull-{peer.node_id}", wait=patience)
            if lease is None:
                return PullResult(peer.node_id, ok=True, error="pulled by another process")
            try:
                result = await self._guarded(peer, force=force, only=only, nudge=nudge)
                while peer.node_id in self._again:
                    self._again.discard(peer.node_id)
                    result = await self._guarded(peer, force=True, only=None)
                return result
            finally:
                await asyncio.to_thread(lease.release)

    def pull_soon(self, peer: RosterNode, nudge: Nudge | None = None) -> None:
        """Start a pull in the background (a nudge's answer must not wait for it)."""
        pull = self.pull(
            peer, force=True, patience=self.settings.sync_interval_seconds, nudge=nudge
        )
        task = asyncio.get_running_loop().create_task(pull)
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    async def _guarded(
        self, peer: RosterNode, *, force: bool, only: str | None, nudge: Nudge | None = None
    ) -> PullResult:
        """The outermost wrapper of one pull: whatever goes wrong with this peer is logged,
        counted as a failure (backoff) and never stops the pulls from the others."""
        try:
            if nudge is not None:
                return await self._pull_nudged(peer, nudge)
            return await self._pull_once(peer, force=force, only=only)
        except Exception as exc:  # noqa: BLE001 - the job boundary; see the docstring
            logger.exception("sync with peer %s failed unexpectedly", peer.node_id)
            result = PullResult(peer.node_id, ok=False, error=f"internal: {type(exc).__name__}")
            await asyncio.to_thread(self.peers.record, peer, result)
            return result

    async def _pull_once(self, peer: RosterNode, *, force: bool, only: str | None) -> PullResult:
        if not force and not await asyncio.to_thread(self.peers.due, peer):
            return PullResult(peer.node_id, ok=False, error="backing off")
        result = PullResult(peer.node_id, ok=True)
        unkept: Heads | None = None  # heads to keep with the outcome, in the same write
        try:
            key = (peer.node_id, peer.url)
            seen = await self.client.heads_since(peer.node_id, peer.url, self._seen.get(key))
            self._seen[key] = seen
            heads = unkept = seen.heads
            hub = self.trust.current.hub if self.trust.current else ""
            # One read of every tip skips the origins held as far as the peer holds them
            # (tips only grow, so a skip is never wrong); _pull_origin reads its own again.
            held = await asyncio.to_thread(self._tips)
            behind = [
                h
                for h in sorted(heads.origins, key=lambda h: h.origin != hub)
                if h.origin != self.settings.node_id
                and (not only or h.origin == only)
                and h.last_seq > held.get(h.origin, 0)
            ]
            gap = sum(h.last_seq - held.get(h.origin, 0) for h in behind)
            if gap > self.settings.sync_page_size:
                # A long pull: status shows what the peer holds while it runs. A short one
                # keeps the heads with its outcome, one write fewer for the usual change.
                await asyncio.to_thread(self.peers.saw, peer.node_id, heads)
                unkept = None
            for head in behind:
                await self._pull_origin(peer, head.origin, head.last_seq, result)
            await withheld.refetch(
                engine=self.engine,
                trust=self.trust,
                client=self.client,
                apply=self._apply,
                peer=peer,
                heads=heads,
            )
            await self.witnessing.compare_notes(peer, heads)
        except PeerError as exc:
            result.ok, result.error = False, str(exc)
            logger.warning("sync with peer %s failed: %s", peer.node_id, exc)
        await asyncio.to_thread(self.peers.record, peer, result, unkept)
        return result

    async def _pull_nudged(self, peer: RosterNode, nudge: Nudge) -> PullResult:
        """A nudge names an origin and the seq the peer now holds of it, so its page is
        asked for at once, without the heads first: one exchange for the usual single
        change (docs/PROTOCOL.md 10.3, issue 13) instead of two.

        What the heads give a full pull is kept or left to the next scheduled one. The
        hub-first rule: the page says which roster its node trusts, and a peer that trusts
        a newer one than ours gets a full pull instead (the hub's origin first, so the new
        keys are known before the records signed with them). The withheld refetch and the
        witness compare wait for the scheduled pull, which still runs every interval."""
        trust = await asyncio.to_thread(self.trust.fresh)
        origin = nudge.origin
        if trust is None or origin == self.settings.node_id or origin not in trust.nodes:
            return await self._pull_once(peer, force=True, only=None)
        result = PullResult(peer.node_id, ok=True)
        try:
            mine = await asyncio.to_thread(self._tip, origin)
            if mine >= nudge.seq:
                return result  # held already (another peer was quicker): nothing to ask
            first = await self._fetch(peer, origin, mine)
            theirs = first.page.roster_version
            if theirs is None or theirs > trust.version:
                return await self._pull_once(peer, force=True, only=None)
            their_last = max(nudge.seq, first.page.last_seq)
            await self._pull_origin(peer, origin, their_last, result, first=first)
            # Status shows the peer's heads: bring that origin's up to what the page showed.
            kept = await asyncio.to_thread(
                self.peers.caught_up, peer.node_id, origin, first.page.last_seq
            )
        except PeerError as exc:
            result.ok, result.error, kept = False, str(exc), None
            logger.warning("nudged pull from peer %s failed: %s", peer.node_id, exc)
        await asyncio.to_thread(self.peers.record, peer, result, kept)
        return result

    async def _pull_origin(
        self,
        peer: RosterNode,
        origin: str,
        their_last: int,
        result: PullResult,
        *,
        first: Fetched | None = None,
    ) -> None:
        """Pages after our tip, each applied with its tip in one transaction. The next page
        is requested while the current one is verified and stored (it starts after the
        current page's last seq); if the current page stops short, it is dropped. ``first``
        is a page already fetched (a nudged pull's), used if it starts at our tip."""
        mine = await asyncio.to_thread(self._tip, origin)
        # Far behind (a new origin, a resync): pages are checked in worker processes, the
        # next one while this thread stores the current one (node.sync.verifier_pool).
        far = their_last - mine >= self.far_behind and not self.checkers.failed
        ahead: asyncio.Task[Fetched] | None = None
        try:
            for _ in range(self.settings.sync_max_pages):
                trust = self.trust.current
                if trust is None or origin not in trust.nodes or mine >= their_last:
                    return  # caught up, or an origin we do not (yet) trust
                if trust.nodes[origin].status is not NodeStatus.ACTIVE:
                    return  # suspended or revoked: none of its records, not even relayed
                if ahead is not None:
                    first, ahead = await ahead, None
                if first is not None:
                    fetched, first = first, None
                    if fetched.page.after != mine:
                        continue  # fetched from a tip we did not reach; ask again
                else:
                    fetched = await self._fetch(peer, origin, mine, check=trust if far else None)
                page = fetched.page
                if not page.records:
                    return
                last = last_seq(page.records)
                if last is not None and mine < last < their_last:
                    ahead = asyncio.ensure_future(
                        self._fetch(peer, origin, last, check=trust if far else None)
                    )
                checked = await self._checked(fetched, trust)
                applied = await asyncio.to_thread(
                    self._apply, peer.node_id, origin, page.records, trust, checked
                )
                result.applied += applied.applied
                result.rejected += sum(applied.rejected.values())
                self.on_page(origin, applied)
                if applied.roster_changed:
                    self.trust.reload()
                if applied.stopped:
                    result.stopped.append(f"{origin}: {applied.stopped}")
                    return
                if applied.tip <= mine:
                    return
                mine = applied.tip
        finally:
            if ahead is not None:
                ahead.cancel()
                # exception() marks an error retrieved, so it is not reported as lost
                if ahead.done() and not ahead.cancelled() and ahead.exception() is None:
                    unused = ahead.result().checking  # a page checked for nothing
                    if unused is not None:
                        unused.cancel()

    async def _fetch(
        self, peer: RosterNode, origin: str, after: int, *, check: Trust | None = None
    ) -> Fetched:
        """A page; with ``check``, its records' check is started on the process pool as
        soon as the bytes are in."""
        page, body = await self.client.records_with_body(
            peer.node_id, peer.url, origin=origin, after=after, limit=self.settings.sync_page_size
        )
        checking = None
        if check is not None and page.records:
            checking = self.checkers.start(body, check, origin)
        return Fetched(page, checking, check)

    async def _checked(self, fetched: Fetched, trust: Trust) -> Checked | None:
        """The pool's verdict on a page, if it was checked there under the roster still in
        force (a roster record in the page before changes the keys: then None, and
        ``ingest_page`` checks the page again itself)."""
        if fetched.checking is None:
            return None
        checked = await self.checkers.verdict(fetched.checking)
        return checked if fetched.trust == trust else None

    def _tip(self, origin: str) -> int:
        with Session(self.engine) as session:
            return log.tip(session, origin=origin).seq

    def _apply(
        self,
        peer: str,
        origin: str,
        records: Sequence[Any],
        trust: Trust,
        checked: Checked | None = None,
    ) -> PageResult:
        with Session(writer(self.engine)) as session:
            result = ingest_page(
                session,
                origin=origin,
                records=records,
                trust=trust,
                peer=peer,
                now=format_utc(self.clock()),
                on_reject=self._rejected,
                pool=None if checked is not None else self.checkers.threads(),
                checked=checked,
            )
            session.commit()
        return result

    def _rejected(self, reason: str) -> None:
        self.witnessing.quarantined(reason)
        self.on_reject(reason)

    def _tips(self) -> dict[str, int]:
        with Session(self.engine) as session:
            return log.tips(session)
