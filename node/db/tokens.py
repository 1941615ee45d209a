"""Admin API token rows. Only the hash of a secret is ever stored here; hashing the
presented secret and comparing it in constant time is node.tokens' job, so this module
never sees a plaintext."""

from __future__ import annotations

from sqlmodel import Session, col, select

from node.db.tables import ApiToken

__all__ = ["ApiToken", "by_id", "create", "every", "revoke"]


def create(
    session: Session, *, token_id: str, role: str, secret_hash: str, label: str, created_at: str
) -> ApiToken:
    """Insert a token row and flush, so a duplicate id fails here rather than at commit."""
    row = ApiToken(
        id=token_id, role=role, secret_hash=secret_hash, label=label, created_at=created_at
    )
    session.add(row)
    session.flush()
    return row


def by_id(session: Session, *, token_id: str) -> ApiToken | None:
    return session.get(ApiToken, token_id)


def revoke(session: Session, *, token_id: str, at: str) -> ApiToken | None:
    """Mark a token revoked (None: no such token). Revoking twice keeps the first time."""
    row = session.get(ApiToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = at
        session.add(row)
    return row


def every(session: Session) -> list[ApiToken]:
    """All tokens, oldest first, revoked ones included (the operator's listing)."""
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.created_at))))
