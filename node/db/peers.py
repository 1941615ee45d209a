"""Sync state per peer, in the database so that backoff survives a restart and every
process of a node sees the same state. The backoff arithmetic is federation.backoff's;
this module only stores its results."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from node.db.tables import PEERS, Peer
from schemas.sync import Heads


@dataclass(frozen=True)
class PeerState:
    node_id: str
    url: str
    last_attempt: str | None = None
    last_success: str | None = None
    failures: int = 0
    next_attempt: str | None = None
    last_error: str = ""
    records_in: int = 0

    @property
    def healthy(self) -> bool:
        return self.failures == 0 and bool(self.last_success)


def _state(row: Peer) -> PeerState:
    return PeerState(
        row.node_id,
        row.url,
        row.last_attempt,
        row.last_success,
        row.failures,
        row.next_attempt,
        row.last_error,
        row.records_in,
    )


def get(session: Session, *, node_id: str, url: str) -> PeerState:
    """The state of one peer; a peer never tried yet has a fresh state."""
    row = session.get(Peer, node_id)
    return PeerState(node_id, url) if row is None else _state(row)


def every(session: Session) -> dict[str, PeerState]:
    return {row.node_id: _state(row) for row in session.execute(select(Peer)).scalars()}


def record_success(
    session: Session, *, node_id: str, url: str, now: str, applied: int, note: str
) -> None:
    """A pull that worked: the backoff resets, whatever failed before."""
    row = session.get(Peer, node_id) or Peer(node_id=node_id, url=url)
    row.url, row.last_attempt, row.last_success = url, now, now
    row.failures, row.next_attempt = 0, None
    row.last_error = note[:1000]
    row.records_in += applied
    session.add(row)


def record_failure(
    session: Session, *, node_id: str, url: str, now: str, error: str, next_attempt: str
) -> int:
    """A pull that failed; returns the failure count the backoff was computed from."""
    row = session.get(Peer, node_id) or Peer(node_id=node_id, url=url)
    row.url, row.last_attempt = url, now
    row.failures += 1
    row.next_attempt = next_attempt
    row.last_error = error[:1000]
    session.add(row)
    return row.failures


def failures(session: Session, *, node_id: str) -> int:
    row = session.get(Peer, node_id)
    return 0 if row is None else row.failures


def record_heads(session: Session, *, node_id: str, heads: str, now: str) -> None:
    """Keep the heads a peer just showed (JSON), so that every process of the node reads
    the same view of it; a peer seen for the first time gets its row here."""
    row = session.get(Peer, node_id) or Peer(node_id=node_id, url="")
    row.heads, row.heads_at = heads, now
    session.add(row)


def heads_seen_of(session: Session, *, node_id: str) -> Heads | None:
    """The heads one peer showed at its last pull, or None when none are kept."""
    text = session.execute(
        select(PEERS.c.heads).where(PEERS.c.node_id == node_id)
    ).scalar_one_or_none()
    return None if text is None else Heads.model_validate_json(text)


def heads_seen(session: Session) -> dict[str, Heads]:
    """The heads each peer showed at its last pull (by any process of the node)."""
    rows = session.execute(select(PEERS.c.node_id, PEERS.c.heads).where(PEERS.c.heads.is_not(None)))
    return {node_id: Heads.model_validate_json(text) for node_id, text in rows}
