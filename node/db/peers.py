"""Sync state per peer, in the database so that backoff survives a restart and every
process of a node sees the same state. The backoff arithmetic is federation.backoff's;
this module only stores its results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
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
    session: Session,
    *,
    node_id: str,
    url: str,
    now: str,
    applied: int,
    note: str,
    heads: str | None = None,
) -> None:
    """A pull that worked: the backoff resets, whatever failed before. ``heads``: what the
    peer showed at this pull (JSON), kept in the same statement."""
    values: dict[str, Any] = {
        "url": url,
        "last_attempt": now,
        "last_success": now,
        "failures": 0,
        "next_attempt": None,
        "last_error": note[:1000],
    }
    _write(session, node_id=node_id, values=_seen(values, heads, now), records_in=applied)


def record_failure(
    session: Session,
    *,
    node_id: str,
    url: str,
    now: str,
    error: str,
    next_attempt: str,
    heads: str | None = None,
) -> None:
    """A pull that failed, with the next attempt the backoff computed (``heads``: as for
    ``record_success``)."""
    values = {"url": url, "last_attempt": now, "next_attempt": next_attempt}
    values = _seen({**values, "last_error": error[:1000]}, heads, now)
    _write(session, node_id=node_id, values=values, failed=True)


def _seen(values: dict[str, Any], heads: str | None, now: str) -> dict[str, Any]:
    return values if heads is None else {**values, "heads": heads, "heads_at": now}


def failures(session: Session, *, node_id: str) -> int:
    found = session.execute(
        select(PEERS.c.failures).where(PEERS.c.node_id == node_id)
    ).scalar_one_or_none()
    return 0 if found is None else int(found)


def record_heads(session: Session, *, node_id: str, heads: str, now: str) -> None:
    """Keep the heads a peer just showed (JSON), so that every process of the node reads
    the same view of it; a peer seen for the first time gets its row here."""
    _write(session, node_id=node_id, values={"heads": heads, "heads_at": now})


def _write(
    session: Session,
    *,
    node_id: str,
    values: dict[str, Any],
    records_in: int = 0,
    failed: bool = False,
) -> None:
    """One ``UPDATE`` of a peer's row, or an ``INSERT`` the first time the peer is seen.

    Core statements, not an ORM load and flush: this runs after every pull of every peer,
    most of them finding nothing new, and the ORM's unit of work cost more than the write
    (issue 13's periodic round). Counters are added to in SQL, so they count every pull
    whichever process made it. A peer's pulls hold its pull lock, so no two writers race
    to insert the same row."""
    c = PEERS.c
    counters: dict[str, Any] = {"records_in": c.records_in + records_in}
    if failed:
        counters["failures"] = c.failures + 1
    changed = session.execute(
        update(PEERS).where(c.node_id == node_id).values(**values, **counters)
    )
    if changed.rowcount:  # type: ignore[attr-defined]
        return
    first = {"url": "", "last_error": "", "failures": 1 if failed else 0}
    session.execute(
        insert(PEERS).values(**{**first, **values, "node_id": node_id, "records_in": records_in})
    )


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
