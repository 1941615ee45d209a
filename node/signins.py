"""Signed-in sessions of the leaders' console.

A person proves who they are once, with an API token (``healthnet token create``), and
gets a session: a 256-bit random id in an HttpOnly, SameSite=Strict cookie. The token
itself never sits in the browser, and ending the session (sign-out, expiry, revoking the
token) ends the browser's access without touching the token's other uses.

Only the SHA-256 of the id is stored, so the database alone cannot sign anyone in. The
session lives in the database, not in a worker's memory, so every worker and replica
of a node accepts it. Each form's CSRF token is derived from the session id with HMAC:
it needs no storage, changes with every session, and cannot be computed without the
cookie that an attacker's page cannot read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from node.db import signins as rows
from node.db import tokens as token_rows
from node.db.session import Session
from node.db.tokens import ApiToken
from schemas.instants import format_utc, parse_utc


def cookie(node_id: str) -> str:
    """The session cookie's name, one per node: cookies are shared by every port of a host
    (RFC 6265 8.5), so two nodes on one machine (the demo's six, say) would otherwise sign
    each other's consoles out."""
    return f"healthnet_console_{node_id}"


def signin_cookie(node_id: str) -> str:
    """The sign-in form's own CSRF value, before there is a session."""
    return f"healthnet_signin_{node_id}"


@dataclass(frozen=True)
class Policy:
    """How long a session lasts: ``idle`` after its last use, ``absolute`` after sign-in,
    whichever comes first (a forgotten open tab does not stay signed in for a week)."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    # How stale a session's last use may be before a request writes it again: the idle
    # expiry needs minutes, not a write (and the write lock) on every page view.
    touch_after: timedelta = timedelta(minutes=1)


@dataclass(frozen=True)
class SignedIn:
    """The person behind a request: their token's row, and their session's id (kept only
    in memory, for the CSRF token and sign-out)."""

    token: ApiToken
    session_id: str

    @property
    def csrf(self) -> str:
        return csrf_token(self.session_id)


def id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def csrf_token(session_id: str) -> str:
    """The CSRF token of every form in a session (pure)."""
    return hmac.new(session_id.encode("utf-8"), b"healthnet console csrf", "sha256").hexdigest()


def same_secret(expected: str, presented: str | None) -> bool:
    """Constant-time comparison; an absent value never matches."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), presented.encode("utf-8"))


def expired(*, created_at: datetime, seen_at: datetime, now: datetime, policy: Policy) -> bool:
    """Whether a session is over (pure): idle too long, or signed in too long ago."""
    return now - seen_at >= policy.idle or now - created_at >= policy.absolute


def start(session: Session, *, token: ApiToken, now: datetime) -> str:
    """Open a session for ``token``; return its id, which only the cookie will hold."""
    session_id = secrets.token_urlsafe(32)
    rows.create(session, id_hash=id_hash(session_id), token_id=token.id, at=format_utc(now))
    return session_id


@dataclass(frozen=True)
class Resolved:
    """What a presented session id comes to, and what (if anything) must be written:
    ``end`` a session found over, or ``touch`` one whose last use is stale."""

    who: SignedIn | None
    end: bool = False
    touch: bool = False


def resolve(
    session: Session, *, session_id: str | None, now: datetime, policy: Policy
) -> Resolved:
    """The person signed in with ``session_id`` (``who`` is None: no such session, ended,
    expired, or its token revoked since). Reads only; ``record`` writes what it says."""
    if not session_id or len(session_id) > 100:
        return Resolved(None)
    row = rows.by_hash(session, id_hash=id_hash(session_id))
    if row is None or row.ended_at is not None:
        return Resolved(None)
    token = token_rows.by_id(session, token_id=row.token_id)
    seen = parse_utc(row.seen_at)
    over = expired(created_at=parse_utc(row.created_at), seen_at=seen, now=now, policy=policy)
    if over or token is None or token.revoked_at is not None:
        return Resolved(None, end=True)
    return Resolved(SignedIn(token, session_id), touch=now - seen >= policy.touch_after)


def record(session: Session, *, session_id: str, resolved: Resolved, now: datetime) -> None:
    """Write what ``resolve`` found due: the end of an expired session, or its last use."""
    key, at = id_hash(session_id), format_utc(now)
    if resolved.end:
        rows.end(session, id_hash=key, at=at)
    elif resolved.touch:
        rows.touch(session, id_hash=key, at=at)


def end(session: Session, *, session_id: str, now: datetime) -> None:
    rows.end(session, id_hash=id_hash(session_id), at=format_utc(now))


def end_for_token(session: Session, *, token_id: str, now: datetime) -> int:
    return rows.end_for_token(session, token_id=token_id, at=format_utc(now))
