"""The console's session rows (node.signins decides what a session may do and when it
ends; this module only stores). Rows are looked up by the SHA-256 of the session id,
which is all that is kept."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col

from node.db.tables import ConsoleSession

__all__ = ["ConsoleSession", "by_hash", "create", "end", "end_for_token", "touch"]


def create(session: Session, *, id_hash: str, token_id: str, at: str) -> ConsoleSession:
    row = ConsoleSession(id_hash=id_hash, token_id=token_id, created_at=at, seen_at=at)
    session.add(row)
    session.flush()
    return row


def by_hash(session: Session, *, id_hash: str) -> ConsoleSession | None:
    return session.get(ConsoleSession, id_hash)


def touch(session: Session, *, id_hash: str, at: str) -> None:
    """Move a live session's last use to ``at`` (its idle expiry counts from there)."""
    session.execute(
        update(ConsoleSession)
        .where(col(ConsoleSession.id_hash) == id_hash, col(ConsoleSession.ended_at).is_(None))
        .values(seen_at=at)
    )


def end(session: Session, *, id_hash: str, at: str) -> None:
    session.execute(
        update(ConsoleSession)
        .where(col(ConsoleSession.id_hash) == id_hash, col(ConsoleSession.ended_at).is_(None))
        .values(ended_at=at)
    )


def end_for_token(session: Session, *, token_id: str, at: str) -> int:
    """End every live session of a token (it was revoked): the number ended."""
    result = session.execute(
        update(ConsoleSession)
        .where(col(ConsoleSession.token_id) == token_id, col(ConsoleSession.ended_at).is_(None))
        .values(ended_at=at)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
