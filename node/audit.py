"""The audit log: which token did what, when, and with what outcome.

A successful write is audited in the same transaction as the write, so the log can never
claim a change that did not happen (or miss one that did). A refused request is audited in
a transaction of its own, since the request's own transaction is rolled back.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from node.db.tables import AuditEntry
from schemas.instants import format_utc


def record_action(
    session: Session,
    *,
    now: datetime,
    token_id: str | None,
    action: str,
    outcome: str,
    target_kind: str | None = None,
    target_id: str | None = None,
    version: int | None = None,
    seq: int | None = None,
    detail: str = "",
) -> None:
    session.add(
        AuditEntry(
            at=format_utc(now),
            token_id=token_id,
            action=action[:40],
            target_id=None if target_id is None else target_id[:36],
            outcome=outcome,
            target_kind=target_kind,
            version=version,
            seq=seq,
            detail=detail[:1000],
        )
    )


def list_actions(session: Session, *, after: int, limit: int) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(col(AuditEntry.id) > after).order_by(col(AuditEntry.id))
    return list(session.exec(stmt.limit(limit)))
