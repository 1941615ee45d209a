"""What this process knows of each peer: the heads it last showed (kept in memory for the
status views; every pull refreshes them) and its backoff state (kept in the database, so
it survives a restart). The timing is federation.backoff's pure arithmetic."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime

from federation import backoff
from node.db import peers
from node.db.session import Engine, Session, writer
from schemas.instants import format_utc, parse_utc
from schemas.roster import RosterNode
from schemas.sync import Heads


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
        self.heads: dict[str, Heads] = {}

    def due(self, peer: RosterNode) -> bool:
        """A peer in backoff is skipped, never waited on."""
        with Session(self._engine) as session:
            state = peers.get(session, node_id=peer.node_id, url=peer.url)
        next_at = parse_utc(state.next_attempt) if state.next_attempt else None
        return backoff.due(next_at, self._clock())

    def saw(self, peer: str, heads: Heads) -> None:
        self.heads[peer] = heads

    def succeeded(self, peer: RosterNode, *, applied: int, note: str) -> None:
        """Success resets the backoff, whatever failed before."""
        with Session(writer(self._engine)) as session:
            peers.record_success(
                session,
                node_id=peer.node_id,
                url=peer.url,
                now=format_utc(self._clock()),
                applied=applied,
                note=note,
            )
            session.commit()

    def failed(self, peer: RosterNode, *, error: str) -> None:
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
            )
            session.commit()
