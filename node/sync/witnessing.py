"""Catching split views: what a pull exchanges besides records (docs/PROTOCOL.md 10.8).

An origin that shows one peer record A and another peer record B for the same seq leaves
each of them with a valid chain; neither can tell from its own log. So at every pull a
node compares what the peer holds of each origin with what it holds itself, three ways:

1. the peer's heads: the header hash at the peer's ``last_seq`` against ours at that seq;
2. the peer's checkpoint cosignatures (its own and those it collected): each verified
   under the roster, then compared with our header at the checkpoint's size;
3. the peer's equivocation proofs: each checked under our own roster keys.

A disagreement in 1 or 2 is turned into a proof by fetching the peer's record at that
seq: two headers the origin signed for one seq (or a broken link) prove the split view
to anyone. Proofs are kept and served (``GET /federation/evidence``), so every honest
node that pulls from one that holds a proof checks it itself and holds it too: the alarm
spreads with the next round of pulls. A peer's statement that does not verify is
dropped and counted, never stored.

All decisions are federation.witness / federation.evidence (pure); this is the shell that
fetches and stores.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from federation.errors import BadEvidence, HealthnetError, PeerError
from federation.evidence import check_proof, make_proof, shape_of
from federation.merge import Verdict
from federation.trust import Trust, listed_key
from federation.witness import Agreement, Cosignature, check_cosignature, compare
from federation.witness import witness_keys as roster_witness_keys
from node.db import cosignatures, evidence, log
from node.db.session import Engine, Session, writer
from node.settings import NodeSettings
from node.sync.client import PeerClient
from node.sync.trustbook import TrustBook
from schemas.instants import format_utc
from schemas.roster import RosterNode
from schemas.sync import Heads

logger = logging.getLogger(__name__)


@dataclass
class Exchange:
    """What one exchange with a peer found."""

    kept: int = 0  # cosignatures stored
    refused: int = 0  # statements or proofs that did not verify
    proofs: int = 0  # new equivocation proofs stored
    notes: list[str] = field(default_factory=list)


class Witnessing:
    def __init__(
        self,
        *,
        engine: Engine,
        settings: NodeSettings,
        clock: Callable[[], datetime],
        trust: TrustBook,
        client: PeerClient,
        on_proof: Callable[[str], None] = lambda origin: None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.trust = trust
        self.client = client
        self.on_proof = on_proof
        # Per peer, in this process: when its checkpoints were last collected (monotonic)
        # and how many proofs its heads said it held when they were last learned. Losing
        # them on a restart costs one extra fetch each.
        self._collected: dict[str, float] = {}
        self._proofs_seen: dict[str, int] = {}
        # Whether the quarantine may hold an equivocation not yet made a proof: true at
        # start (another process may have quarantined one), then set by ``quarantined``
        # when ingest here refuses a record as one. Reading the quarantine after every
        # pull of every peer for nothing was a session and a query per pull.
        self._unproved = True

    def quarantined(self, reason: str) -> None:
        """Ingest refused a record for ``reason`` (its quarantine reason)."""
        if reason == Verdict.EQUIVOCATION.value:
            self._unproved = True

    async def compare_notes(self, peer: RosterNode, heads: Heads) -> None:
        """What a pull does after the pages (docs/PROTOCOL.md 10.8). A peer that cannot
        answer these requests (an older release: 404) has still served its records, so
        the pull counts as done; what failed is logged."""
        try:
            found = await self.exchange(peer, heads)
        except PeerError as exc:
            logger.info("no checkpoints from %s: %s", peer.node_id, exc)
            return
        for note in found.notes[:5]:
            logger.info("from %s: %s", peer.node_id, note)
        if self._unproved:
            self._unproved = False  # before the read: a refusal meanwhile sets it again
            try:
                await asyncio.to_thread(self.quarantined_proofs)
            except BaseException:
                self._unproved = True  # not done: the next pull tries again
                raise

    async def exchange(self, peer: RosterNode, heads: Heads) -> Exchange:
        """Compare, collect and prove; raises ``PeerError`` if the peer does not answer."""
        trust = self.trust.current
        out = Exchange()
        if trust is None:
            return out
        disagree = False
        compared = [
            h
            for h in heads.origins
            if h.head is not None and h.last_seq >= 1 and h.origin != self.settings.node_id
        ]
        held = await asyncio.to_thread(self._hashes_at, [(h.origin, h.last_seq) for h in compared])
        for head in compared:
            ours = held.get((head.origin, head.last_seq))
            if ours is not None and ours != head.head:
                disagree = True
                await self._prove(peer, head.origin, head.last_seq, trust, out)
        # Checkpoints every few minutes (they change with every write, and an incremental
        # pull must stay small), at once when the heads disagree; proofs when the peer's
        # heads say it holds more than when we last learned them.
        now = time.monotonic()
        last = self._collected.get(peer.node_id)
        interval = self.settings.checkpoint_interval_seconds
        if disagree or last is None or now - last >= interval:
            statements = await self.client.checkpoints(peer.node_id, peer.url)
            await self._collect(peer, statements, trust, out)
            self._collected[peer.node_id] = now
        if heads.evidence > self._proofs_seen.get(peer.node_id, 0):
            proofs = await self.client.evidence(peer.node_id, peer.url)
            await asyncio.to_thread(self._learn, peer, proofs, trust, out)
            self._proofs_seen[peer.node_id] = heads.evidence
        return out

    async def _collect(
        self, peer: RosterNode, statements: list[Any], trust: Trust, out: Exchange
    ) -> None:
        keys = roster_witness_keys(trust)
        good: list[Cosignature] = []
        for raw in statements:
            try:
                good.append(check_cosignature(raw, keys))
            except BadEvidence as exc:
                out.refused += 1
                out.notes.append(f"cosignature refused: {exc}")
        agreeing: list[Cosignature] = []
        for cosig in good:
            cp = cosig.checkpoint
            if cp.origin not in trust.nodes:
                continue  # a log this node does not follow
            ours = await asyncio.to_thread(self._hash_at, cp.origin, cp.size)
            verdict = compare(cp, ours)
            if verdict is Agreement.CONFLICTS:
                # The witness signed another head for this size than the one we hold: ask
                # the peer for its record there, which turns the conflict into a proof.
                await self._prove(peer, cp.origin, cp.size, trust, out)
                continue
            agreeing.append(cosig)  # AGREES, or AHEAD: judged again when we get there
        out.kept += await asyncio.to_thread(self._keep, agreeing)

    async def _prove(
        self, peer: RosterNode, origin: str, seq: int, trust: Trust, out: Exchange
    ) -> None:
        try:
            page = await self.client.records(
                peer.node_id, peer.url, origin=origin, after=seq - 1, limit=1
            )
        except PeerError as exc:
            out.notes.append(f"{origin} seq {seq}: the peer's record could not be fetched: {exc}")
            return
        if not page.records:
            out.notes.append(f"{origin} seq {seq}: the peer showed a head it does not serve")
            return
        theirs = page.records[0]
        await asyncio.to_thread(self._prove_with, peer, origin, seq, theirs, trust, out)

    def _prove_with(
        self, peer: RosterNode, origin: str, seq: int, theirs: Any, trust: Trust, out: Exchange
    ) -> None:
        with Session(self.engine) as session:
            ours = evidence.signed_header_at(session, origin=origin, seq=seq)
        header = theirs.get("record") if isinstance(theirs, dict) else None
        if ours is None or not isinstance(header, dict) or header.get("seq") != seq:
            out.notes.append(f"{origin} seq {seq}: the peer's answer is not that record")
            return
        if shape_of(ours["record"], header) is None:
            return  # the same header after all (the peer moved on meanwhile)
        try:
            proof = make_proof(ours, {"record": header, "sig": theirs.get("sig")})
        except (BadEvidence, KeyError, TypeError):
            out.notes.append(f"{origin} seq {seq}: the peer's record proves nothing")
            return
        self._store(peer.node_id, [proof], trust, out)

    def _learn(self, peer: RosterNode, proofs: list[Any], trust: Trust, out: Exchange) -> None:
        with Session(self.engine) as session:
            held = evidence.pairs(session)
        new = []
        for proof in proofs:
            try:
                finding = check_proof(proof, _keys(trust))
            except HealthnetError as exc:
                out.refused += 1
                out.notes.append(f"evidence refused: {exc}")
                continue
            if tuple(sorted(finding.hashes)) not in held:
                new.append(proof)
        self._store(peer.node_id, new, trust, out)

    def _store(self, source: str, proofs: list[Any], trust: Trust, out: Exchange) -> None:
        """Check (again: a proof built here is checked like a received one) and keep."""
        now = format_utc(self.clock())
        found: list[str] = []
        with Session(writer(self.engine)) as session:
            for proof in proofs:
                try:
                    finding = check_proof(proof, _keys(trust))
                except HealthnetError as exc:
                    out.refused += 1
                    out.notes.append(f"evidence refused: {exc}")
                    continue
                if evidence.add(session, proof, finding, learned_from=source, now=now):
                    found.append(finding.origin)
                    logger.warning(
                        "equivocation by %s at seq %s (%s), shown via %s",
                        finding.origin, finding.seq, finding.shape.value, source,
                    )  # fmt: skip
            session.commit()
        out.proofs += len(found)
        for origin in found:
            self.on_proof(origin)

    def _keep(self, cosigs: list[Cosignature]) -> int:
        if not cosigs:
            return 0
        with Session(writer(self.engine)) as session:
            stored = cosignatures.keep(session, cosigs, now=format_utc(self.clock()))
            session.commit()
        return stored

    def _hashes_at(self, at: list[tuple[str, int]]) -> dict[tuple[str, int], str]:
        with Session(self.engine) as session:
            return log.header_hashes_at(session, at=at)

    def _hash_at(self, origin: str, seq: int) -> str | None:
        with Session(self.engine) as session:
            return log.header_hash_at(session, origin=origin, seq=seq)

    def quarantined_proofs(self) -> int:
        """Proofs from the equivocations ingest quarantined (an origin that showed this
        node two versions itself): the quarantine keeps both signed headers, and as a
        proof they are served to peers like any other. Returns how many were new."""
        trust = self.trust.current
        if trust is None:
            return 0
        with Session(self.engine) as session:
            pairs = evidence.quarantined_pairs(session)
        out = Exchange()
        proofs = []
        for incoming, held in pairs:
            try:
                proofs.append(make_proof(held, incoming))
            except (BadEvidence, KeyError, TypeError):
                continue
        self._store(self.settings.node_id, proofs, trust, out)
        return out.proofs


def _keys(trust: Trust) -> Callable[[str, str, int], Any]:
    return lambda origin, key_id, seq: listed_key(trust, origin, key_id, seq)
