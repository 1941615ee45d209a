"""Join request rows on the hub. What a request must be and when it expires is node.joins'
concern; here are the statements, which take the expiry cut-off as text (instants stored
as ``format_utc`` text compare correctly as text)."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from node.db.tables import JoinRequestRow
from node.errors import ReplayedJoin

__all__ = [
    "JoinRequestRow",
    "by_id",
    "count_pending",
    "decide",
    "insert",
    "listing",
    "nonce_seen",
    "pending_of",
]

PENDING = "pending"


def insert(session: Session, *, row: JoinRequestRow) -> JoinRequestRow:
    """Add a request and flush. A nonce stored meanwhile by a concurrent request (the check
    before lost the race) is a replay: the transaction is rolled back, nothing changes."""
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise ReplayedJoin("this join request (its nonce) was received already") from exc
    return row


def by_id(session: Session, *, request_id: str) -> JoinRequestRow | None:
    return session.get(JoinRequestRow, request_id)


def nonce_seen(session: Session, *, nonce: str) -> bool:
    stmt = select(JoinRequestRow.id).where(col(JoinRequestRow.nonce) == nonce)
    return session.exec(stmt).first() is not None


def count_pending(session: Session, *, since: str, client: str | None = None) -> int:
    """Pending requests received after ``since`` (older ones have expired), of ``client``
    only if given."""
    stmt = (
        select(func.count())
        .select_from(JoinRequestRow)
        .where(col(JoinRequestRow.status) == PENDING, col(JoinRequestRow.received_at) > since)
    )
    if client is not None:
        stmt = stmt.where(col(JoinRequestRow.client) == client)
    return int(session.exec(stmt).one())


def pending_of(session: Session, *, node_id: str) -> list[JoinRequestRow]:
    """The pending rows of one node, expired or not (a newer request replaces them all)."""
    stmt = select(JoinRequestRow).where(
        col(JoinRequestRow.node_id) == node_id, col(JoinRequestRow.status) == PENDING
    )
    return list(session.exec(stmt))


def listing(
    session: Session, *, status: str | None, since: str | None = None, limit: int = 200
) -> list[JoinRequestRow]:
    """Requests, newest first: of one stored ``status`` (None: any), and for ``pending``
    only those received after ``since`` when it is given."""
    stmt = select(JoinRequestRow)
    if status is not None:
        stmt = stmt.where(col(JoinRequestRow.status) == status)
    if since is not None:
        stmt = stmt.where(col(JoinRequestRow.received_at) > since)
    order = (col(JoinRequestRow.received_at).desc(), col(JoinRequestRow.id))
    return list(session.exec(stmt.order_by(*order).limit(limit)))


def decide(
    session: Session, *, request_id: str, status: str, reason: str, at: str
) -> JoinRequestRow | None:
    """Close a pending request (None: no such request, or it is no longer pending). The
    row is read under a lock (and SQLite's writes are serialised), so two admins deciding
    at once cannot both win."""
    row = session.get(JoinRequestRow, request_id, with_for_update=True)
    if row is None or row.status != PENDING:
        return None
    row.status, row.reason, row.decided_at = status, reason, at
    session.add(row)
    session.flush()
    return row
