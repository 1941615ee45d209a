"""The audit log's rows: appended, never changed, read back in id order. What to audit
and in which transaction is node.audit's concern; the widths cut here are the columns'."""

from __future__ import annotations

from sqlmodel import Session, col, select

from node.db.tables import AuditEntry

__all__ = ["AuditEntry", "append", "newest", "page"]


def append(
    session: Session,
    *,
    at: str,
    token_id: str | None,
    action: str,
    outcome: str,
    target_kind: str | None,
    target_id: str | None,
    version: int | None,
    seq: int | None,
    detail: str,
) -> None:
    session.add(
        AuditEntry(
            at=at,
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


def page(session: Session, *, after: int, limit: int) -> list[AuditEntry]:
    """Up to ``limit`` entries with id above ``after``: a cursor that new entries never shift."""
    stmt = select(AuditEntry).where(col(AuditEntry.id) > after).order_by(col(AuditEntry.id))
    return list(session.exec(stmt.limit(limit)))


def newest(session: Session, *, before: int | None, limit: int) -> list[AuditEntry]:
    """Up to ``limit`` entries below id ``before`` (all when None), newest first: the
    console's view, where the latest action is the one a person looks for."""
    stmt = select(AuditEntry)
    if before is not None:
        stmt = stmt.where(col(AuditEntry.id) < before)
    return list(session.exec(stmt.order_by(col(AuditEntry.id).desc()).limit(limit)))
