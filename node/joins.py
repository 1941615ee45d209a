"""Join requests on the hub: receive a signed request, list it, approve or decline it.

The shell around ``federation.joining`` (which verifies) and ``node.db.joins`` (which
stores): the hub's rules for whom it hears from. Only a hub takes requests; a node already
in the roster, a replayed request and a flood (``MAX_PENDING`` in all,
``MAX_PENDING_PER_CLIENT`` per address) are refused; a newer request of the same node
replaces its pending one, so an applicant who fixed a typo need not wait for a decline.
A request nobody decides expires after ``EXPIRES_AFTER``: the rule is applied whenever a
request is read (``effective_status``), so no timer is needed and a stored ``pending``
never outlives its welcome. Approving lists the node with ``node.operator.add_node``,
built by ``roster_entry`` as ``healthnet roster add`` builds it, and marks the request
approved in the same transaction as the new roster.

The clock is passed in (``now``), as everywhere in the node; the HTTP routes, the CLI and
the console call these functions.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from federation.canonical import canonical_bytes
from federation.errors import AlreadyListed
from federation.joining import fingerprint, verify_join
from federation.keys import SigningKey
from node import audit, operator, roster
from node.db import joins as rows
from node.db.session import Engine, Session
from node.errors import (
    InvalidInput,
    JoinClosed,
    NotAHub,
    RateLimited,
    ReplayedJoin,
    UnknownRecord,
)
from node.settings import NodeSettings
from schemas.instants import format_utc, parse_utc
from schemas.join import JoinRequest, JoinStatus

EXPIRES_AFTER = timedelta(days=14)
MAX_PENDING = 100
MAX_PENDING_PER_CLIENT = 5
MAX_REASON = 500
# How long a refused flood is told to wait: pending requests clear as an admin decides.
_RETRY_AFTER = 3600


@dataclass(frozen=True)
class JoinView:
    """A stored request as the hub's operator sees it, with the status in force ``now``."""

    id: str
    node_id: str
    status: JoinStatus
    reason: str
    fingerprint: str
    received_at: str
    decided_at: str | None
    client: str
    request: JoinRequest


def effective_status(status: str, received_at: str, now: datetime) -> JoinStatus:
    """The pure expiry rule: a request still pending ``EXPIRES_AFTER`` after it was
    received has expired; every other status is final."""
    if status == JoinStatus.PENDING and parse_utc(received_at) + EXPIRES_AFTER <= now:
        return JoinStatus.EXPIRED
    return JoinStatus(status)


def request_body(
    settings: NodeSettings,
    key: SigningKey,
    *,
    contact: str,
    now: datetime,
    nonce: str | None = None,
) -> dict[str, Any]:
    """The applicant's side: the request this node's home describes, to sign with
    ``federation.joining.sign_join``. The nonce is fresh randomness unless given (tests)."""
    body: dict[str, Any] = {
        "node_id": settings.node_id,
        "name": settings.name,
        "region": settings.region.value,
        "url": settings.url,
        "contact": contact,
        "key_id": key.key_id,
        "public_key": key.public_b64,
        "key_from_seq": settings.key_from_seq,
        "nonce": nonce or secrets.token_urlsafe(16),
        "created_at": format_utc(now),
    }
    if settings.leader:
        body["leader"] = settings.leader
    if settings.latitude is not None and settings.longitude is not None:
        body["latitude"], body["longitude"] = settings.latitude, settings.longitude
    return body


def receive(
    session: Session, *, envelope: Any, settings: NodeSettings, now: datetime, client: str
) -> JoinView:
    """Verify and store a join request (``session`` must be a writer's); commits.

    Refusals change nothing: each is raised before the first write.
    """
    if not settings.hub:
        raise NotAHub("this node is not a hub: send join requests to the network's hub")
    request = verify_join(envelope, now=now)
    held = roster.current(session, hub=settings.node_id)
    if held is not None and any(n.node_id == request.node_id for n in held[0].nodes):
        raise AlreadyListed(f"{request.node_id} is already in the roster")
    if rows.nonce_seen(session, nonce=request.nonce):
        raise ReplayedJoin("this join request (its nonce) was received already")
    since = format_utc(now - EXPIRES_AFTER)
    older = rows.pending_of(session, node_id=request.node_id)
    live = [r for r in older if r.received_at > since]
    if rows.count_pending(session, since=since) - len(live) >= MAX_PENDING:
        raise RateLimited(
            "the hub holds too many pending join requests; try again later",
            retry_after=_RETRY_AFTER,
        )
    from_client = sum(1 for r in live if r.client == client)
    if rows.count_pending(session, since=since, client=client) - from_client >= (
        MAX_PENDING_PER_CLIENT
    ):
        raise RateLimited(
            "too many pending join requests from this address; try again later",
            retry_after=_RETRY_AFTER,
        )
    request_id = secrets.token_hex(8)
    at = format_utc(now)
    for old in older:
        rows.decide(
            session,
            request_id=old.id,
            status=JoinStatus.REPLACED,
            reason=f"replaced by request {request_id}",
            at=at,
        )
    row = rows.insert(
        session,
        row=rows.JoinRequestRow(
            id=request_id,
            node_id=request.node_id,
            body=canonical_bytes(envelope).decode("utf-8"),
            fingerprint=fingerprint(request.public_key),
            status=JoinStatus.PENDING,
            received_at=at,
            nonce=request.nonce,
            client=client[:64],
        ),
    )
    audit.record_action(
        session,
        now=now,
        token_id=None,
        action="join request",
        outcome="received",
        target_kind="join",
        target_id=request_id,
        detail=f"{request.node_id} ({request.name}, {request.region.value}) from {client}",
    )
    view = _view(row, now)
    session.commit()
    return view


def pending(session: Session, now: datetime) -> list[JoinView]:
    """The requests waiting for a decision, newest first (expired ones left out)."""
    since = format_utc(now - EXPIRES_AFTER)
    return [_view(r, now) for r in rows.listing(session, status=JoinStatus.PENDING, since=since)]


def recent(session: Session, now: datetime, *, limit: int = 200) -> list[JoinView]:
    """Every request, decided or not, newest first: the operator's history."""
    return [_view(r, now) for r in rows.listing(session, status=None, limit=limit)]


def get(session: Session, request_id: str, *, now: datetime) -> JoinView:
    row = rows.by_id(session, request_id=request_id)
    if row is None:
        raise UnknownRecord("join request", request_id)
    return _view(row, now)


def approve(
    engine: Engine,
    settings: NodeSettings,
    request_id: str,
    *,
    now: datetime,
    key: SigningKey | None = None,
    token_id: str | None = None,
) -> tuple[JoinView, int]:
    """List the requesting node in the roster and mark the request approved, together.
    Returns the approved request and the new roster version. ``key``: the hub's signing
    key (default: read from the home)."""
    with Session(engine) as session:
        view = get(session, request_id, now=now)
    _still_pending(view)
    node = operator.roster_entry(view.request.model_dump(mode="json", exclude_none=True))
    at = format_utc(now)

    def mark(session: Session, version: int) -> None:
        if rows.decide(session, request_id=request_id, status="approved", reason="", at=at) is None:
            raise JoinClosed(f"join request {request_id} was decided meanwhile")
        audit.record_action(
            session,
            now=now,
            token_id=token_id,
            action="approve join",
            outcome="ok",
            target_kind="join",
            target_id=request_id,
            version=version,
            detail=f"{node.node_id} ({node.name}, {node.region.value}) listed",
        )

    version = operator.add_node(engine, settings, node, now=now, key=key, also=mark)
    with Session(engine) as session:
        return get(session, request_id, now=now), version


def decline(
    session: Session,
    request_id: str,
    reason: str,
    *,
    now: datetime,
    token_id: str | None = None,
) -> JoinView:
    """Refuse a pending request with a reason the applicant reads when it polls (``session``
    must be a writer's); commits."""
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput(
            [("reason", f"give the applicant a reason of 1-{MAX_REASON} characters")]
        )
    _still_pending(get(session, request_id, now=now))
    row = rows.decide(
        session,
        request_id=request_id,
        status=JoinStatus.DECLINED,
        reason=reason,
        at=format_utc(now),
    )
    if row is None:
        raise JoinClosed(f"join request {request_id} was decided meanwhile")
    audit.record_action(
        session,
        now=now,
        token_id=token_id,
        action="decline join",
        outcome="ok",
        target_kind="join",
        target_id=request_id,
        detail=f"{row.node_id}: {reason}",
    )
    view = _view(row, now)
    session.commit()
    return view


def _still_pending(view: JoinView) -> None:
    if view.status is not JoinStatus.PENDING:
        raise JoinClosed(f"join request {view.id} is {view.status.value}, no longer pending")


def _view(row: rows.JoinRequestRow, now: datetime) -> JoinView:
    envelope = json.loads(row.body)
    return JoinView(
        id=row.id,
        node_id=row.node_id,
        status=effective_status(row.status, row.received_at, now),
        reason=row.reason,
        fingerprint=row.fingerprint,
        received_at=row.received_at,
        decided_at=row.decided_at,
        client=row.client,
        request=JoinRequest.model_validate(envelope["request"]),
    )


# -- the applicant's side: which request this node sent -------------------------------------


def problem_text(answer: Any) -> str:
    """A hub's problem answer in one line: its detail, then each field and reason."""
    if not isinstance(answer, dict):
        return str(answer)
    errors = answer.get("errors") or []
    named = "; ".join(f"{e.get('field')}: {e.get('reason')}" for e in errors if isinstance(e, dict))
    return str(answer.get("detail", "")) + (f" ({named})" if named else "")


SENT_FILE = "join-request.json"


def remember_sent(home: Path, *, hub_url: str, request_id: str) -> None:
    """Keep the id of the request this node sent (nothing secret: it only reads a status),
    so ``healthnet join-status`` and the console can ask the hub about it later."""
    sent = {"hub_url": hub_url, "id": request_id}
    (Path(home) / SENT_FILE).write_text(json.dumps(sent, indent=2) + "\n", encoding="utf-8")


def sent_request(home: Path) -> dict[str, str] | None:
    """The request this node sent, as ``remember_sent`` kept it; None if none was."""
    try:
        sent = json.loads((Path(home) / SENT_FILE).read_text(encoding="utf-8"))
        return {"hub_url": str(sent["hub_url"]), "id": str(sent["id"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None
