"""Bearer tokens for the admin API.

A token reads ``hn_<id>_<secret>``. Only SHA-256 of the secret is stored; the id finds the
row and the hash is compared in constant time. A 256-bit random secret needs no slow
password hash: there is nothing to brute-force offline that is cheaper than guessing it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from node.db import signins as signin_rows
from node.db import tokens as token_rows
from node.db.session import Session
from node.db.tokens import ApiToken
from node.errors import NotFound, Unauthorized
from node.roles import Role
from schemas.instants import format_utc

__all__ = ["Role", "authenticate", "create_token", "list_tokens", "revoke_token"]


_DUMMY_HASH = hashlib.sha256(b"no such token").hexdigest()


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(
    session: Session, *, role: Role, label: str, now: datetime
) -> tuple[ApiToken, str]:
    """Store a new token and return it with its plaintext, which is never stored or shown again."""
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = token_rows.create(
        session,
        token_id=token_id,
        role=role.value,
        secret_hash=_hash(secret),
        label=label,
        created_at=format_utc(now),
    )
    return row, f"hn_{token_id}_{secret}"


def revoke_token(session: Session, *, token_id: str, now: datetime) -> ApiToken:
    row = token_rows.revoke(session, token_id=token_id, at=format_utc(now))
    if row is None:
        raise NotFound(f"no token {token_id}")
    # Its console sessions end with it: a revoked token signs no one in, even a browser
    # that signed in with it before.
    signin_rows.end_for_token(session, token_id=token_id, at=format_utc(now))
    return row


def list_tokens(session: Session) -> list[ApiToken]:
    return token_rows.every(session)


def authenticate(session: Session, *, presented: str) -> ApiToken:
    """The live token matching ``presented``, or ``Unauthorized``. Constant-time on the secret."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != "hn":
        raise Unauthorized("malformed bearer token")
    _, token_id, secret = parts
    row = token_rows.by_id(session, token_id=token_id) if len(token_id) <= 16 else None
    expected = row.secret_hash if row is not None else _DUMMY_HASH
    matches = hmac.compare_digest(expected, _hash(secret))
    if row is None or not matches or row.revoked_at is not None:
        raise Unauthorized("unknown or revoked token")
    return row
