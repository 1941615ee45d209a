"""What the node knows of each peer: the heads it last showed and its backoff state, both
kept in the database, so that they survive a restart and every worker of ``serve
--workers N`` shows the same status whichever process pulled. The timing is
federation.backoff's pure arithmetic."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from datetime import datetime

from federation import backoff
from node.db import log, peers
from node.db.session import Engine, Session, writer
from node.sync.pulls import PullResult
from schemas.instants import format_utc, parse_utc
from schemas.roster import RosterNode
from schemas.sync import Heads, OriginHead


class PeerBook:
    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], datetime],
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._jitter = jitter

    def caught_up(self, peer: str, origin: str, their_last: int) -> Heads | None:
        """The heads kept for ``peer`` with ``origin`` brought up to date after a nudged pull
        (which asks for no heads), or None to keep them as they are: when nothing is kept
        yet, or this node's tip fell short of ``their_last``, the peer's last seq as its
        page showed it. Once the tip reaches it, the peer holds the very prefix this node
        verified and stored from it, so its head and digest there are this node's."""
        with Session(self._engine) as session:
            kept = peers.heads_seen_of(session, node_id=peer)
            mine = log.summary(session, origin=origin)
        if kept is None or mine is None or mine.last_seq < their_last:
            return None
        return with_origin(kept, OriginHead(**dataclasses.asdict(mine)))

    def record(self, peer: RosterNode, result: PullResult, heads: Heads | None = None) -> None:
        """A pull's outcome: success resets the backoff, a failure extends it."""
        note = "; ".join(result.stopped)
        if result.ok:
            self.succeeded(peer, applied=result.applied, note=note, heads=heads)
        else:
            self.failed(peer, error=result.error, heads=heads)

    def due(self, peer: RosterNode) -> bool:
        """A peer in backoff is skipped, never waited on."""
        with Session(self._engine) as session:
            state = peers.get(session, node_id=peer.node_id, url=peer.url)
        next_at = parse_utc(state.next_attempt) if state.next_attempt else None
        return backoff.due(next_at, self._clock())

    def saw(self, peer: str, heads: Heads) -> None:
        """Keep what ``peer`` showed at this pull, for every process's status views."""
        with Session(writer(self._engine)) as session:
            now = format_utc(self._clock())
            peers.record_heads(session, node_id=peer, heads=heads.model_dump_json(), now=now)
            session.commit()

    def succeeded(
        self, peer: RosterNode, *, applied: int, note: str, heads: Heads | None = None
    ) -> None:
        """Success resets the backoff, whatever failed before. ``heads``: what the peer
        showed at this pull, if ``saw`` did not keep it already (one write per pull)."""
        with Session(writer(self._engine)) as session:
            peers.record_success(
                session,
                node_id=peer.node_id,
                url=peer.url,
                now=format_utc(self._clock()),
                applied=applied,
                note=note,
                heads=None if heads is None else heads.model_dump_json(),
            )
            session.commit()

    def failed(self, peer: RosterNode, *, error: str, heads: Heads | None = None) -> None:
        now = self._clock()
        with Session(writer(self._engine)) as session:
            failures = peers.failures(session, node_id=peer.node_id) + 1
            later = backoff.next_attempt(failures, now, self._jitter())
            peers.record_failure(
                session,
                node_id=peer.node_id,
                url=peer.url,
                now=format_utc(now),
                error=error,
                next_attempt=format_utc(later),
                heads=None if heads is None else heads.model_dump_json(),
            )
            session.commit()


def with_origin(heads: Heads, head: OriginHead) -> Heads:
    """``heads`` with ``head`` in place of what it held of that origin. Pure."""
    others = [h for h in heads.origins if h.origin != head.origin]
    origins = sorted([*others, head], key=lambda h: h.origin)
    return heads.model_copy(update={"origins": origins})
