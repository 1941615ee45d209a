"""The audit log: which token did what, when, and with what outcome.

A successful write is audited in the same transaction as the write, so the log can never
claim a change that did not happen (or miss one that did). A refused request is audited in
a transaction of its own, since the request's own transaction is rolled back.
"""

from __future__ import annotations

from datetime import datetime

from node.db import audit as audit_rows
from node.db.audit import AuditEntry
from node.db.session import Session
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
    audit_rows.append(
        session,
        at=format_utc(now),
        token_id=token_id,
        action=action,
        outcome=outcome,
        target_kind=target_kind,
        target_id=target_id,
        version=version,
        seq=seq,
        detail=detail,
    )


def list_actions(session: Session, *, after: int, limit: int) -> list[AuditEntry]:
    return audit_rows.page(session, after=after, limit=limit)


def newest_actions(session: Session, *, before: int | None, limit: int) -> list[AuditEntry]:
    return audit_rows.newest(session, before=before, limit=limit)
