"""Applying a page of records received from a peer: verify, merge, store. One transaction.

Records arrive per origin in sequence order. Each one is checked in full before it can be
stored (shape, roster key for that origin and seq, signature, body hash, scope, body
schema), then placed by ``federation.merge``. The page stops at the first record that
cannot extend the origin's chain (bad, gap, equivocation): everything before it is kept
and committed together with the new tip, nothing after it is stored, and the refused
record is quarantined with the reason and the peer it came from. The next pull resumes
from the committed tip, possibly from another peer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlmodel import Session

from federation.canonical import canonical_bytes
from federation.errors import HealthnetError, SignatureError
from federation.merge import Held, Tip, Verdict, merge
from federation.signing import header_hash, verify_envelope
from federation.trust import Trust
from node.db import store
from node.db.tables import Quarantine
from schemas.event import EventBody
from schemas.member import MemberBody
from schemas.record import Envelope
from schemas.roster import RosterBody

log = logging.getLogger(__name__)

BODY_MODELS: dict[str, type[BaseModel]] = {
    "member": MemberBody,
    "event": EventBody,
    "roster": RosterBody,
}


@dataclass
class PageResult:
    applied: int = 0
    history: int = 0
    duplicates: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    stopped: str | None = None  # why the page was cut short, if it was
    tip: int = 0
    roster_changed: bool = False


def tip_of(session: Session, *, origin: str) -> Tip:
    row = session.execute(
        select(store.SEQUENCES.c.last_seq, store.SEQUENCES.c.head).where(
            store.SEQUENCES.c.origin == origin
        )
    ).first()
    return Tip(0, None) if row is None else Tip(int(row[0]), row[1])


def _held_at(session: Session, origin: str, seq: int) -> str | None:
    header = session.execute(
        select(store.RECORDS.c.header).where(
            store.RECORDS.c.origin == origin, store.RECORDS.c.seq == seq
        )
    ).scalar_one_or_none()
    return None if header is None else header_hash(json.loads(header))


def _current(session: Session, origin: str, record_id: str) -> Held | None:
    row = session.execute(
        select(store.RECORDS.c.version, store.RECORDS.c.header)
        .where(store.RECORDS.c.origin == origin, store.RECORDS.c.record_id == record_id)
        .order_by(store.RECORDS.c.version.desc())
        .limit(1)
    ).first()
    return None if row is None else Held(int(row[0]), header_hash(json.loads(row[1])))


def check(raw: Any, trust: Trust, *, origin: str) -> dict[str, Any]:
    """Full verification of one received envelope, or raise. Returns the envelope dict."""
    if not isinstance(raw, dict):
        raise HealthnetError("not a JSON object")
    envelope = Envelope.model_validate(raw)  # shape, including the chain and deleted rules
    header = envelope.record
    if header.origin != origin:
        raise HealthnetError(f"record of origin {header.origin} in a page of {origin}")
    public = trust.key_for(origin=header.origin, key_id=header.key_id, seq=header.seq)
    verify_envelope(raw, public)
    body = raw["body"]
    if body is not None:
        BODY_MODELS[header.kind].model_validate(body)
    trust.check_scope(raw["record"], body)
    return raw


def reason_of(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "malformed"
    if isinstance(exc, SignatureError):
        return type(exc).__name__  # BadSignature, BodyMismatch, UnknownKey, RevokedKey, OutOfScope
    return "malformed"


def ingest_page(
    session: Session,
    *,
    origin: str,
    records: Sequence[Any],
    trust: Trust,
    peer: str,
    now: str,
    on_reject: Callable[[str], None] = lambda reason: None,
) -> PageResult:
    """Verify and apply one page. The caller commits (records, tip and quarantine at once)."""
    result = PageResult()
    tip = tip_of(session, origin=origin)
    current: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    # Versions decided within this page, so a page holding two versions of one record
    # merges the second against the first.
    page_current: dict[str, Held] = {}
    for raw in records:
        try:
            envelope = check(raw, trust, origin=origin)
        except (HealthnetError, ValidationError, KeyError, TypeError) as exc:
            reason = reason_of(exc)
            _quarantine(session, raw, peer=peer, now=now, reason=reason, detail=str(exc))
            result.rejected[reason] = result.rejected.get(reason, 0) + 1
            result.stopped = f"{reason} at seq {_seq(raw)}"
            on_reject(reason)
            break
        header, body = envelope["record"], envelope["body"]
        incoming = header_hash(header)
        held_at = _held_at(session, origin, header["seq"]) if header["seq"] <= tip.seq else None
        known = page_current.get(header["id"]) or _current(session, origin, header["id"])
        verdict = merge(
            header, body, incoming_hash=incoming, tip=tip, held_at_seq=held_at, current=known
        )
        if verdict is Verdict.DUPLICATE:
            result.duplicates += 1
            continue
        if verdict in (Verdict.GAP, Verdict.EQUIVOCATION):
            evidence = (
                _evidence(session, origin, header) if verdict is Verdict.EQUIVOCATION else None
            )
            _quarantine(
                session,
                raw,
                peer=peer,
                now=now,
                reason=verdict.value,
                detail=f"tip {tip.seq}",
                evidence=evidence,
            )
            result.rejected[verdict.value] = result.rejected.get(verdict.value, 0) + 1
            result.stopped = f"{verdict.value} at seq {header['seq']}"
            on_reject(verdict.value)
            if verdict is Verdict.EQUIVOCATION:
                log.warning("equivocation by %s at seq %s via peer %s", origin, header["seq"], peer)
            break
        if verdict is Verdict.APPLY:
            current.append(envelope)
            page_current[header["id"]] = Held(header["version"], incoming)
            result.applied += 1
            result.roster_changed = result.roster_changed or header["kind"] == "roster"
        else:  # HISTORY or STUB: keeps the log dense, never changes the directory
            history.append({**envelope, "body": None})
            result.history += 1
        tip = Tip(header["seq"], incoming)
    # Current versions and history interleave in one log; apply them in seq order.
    store.apply(session, current, history=history, received_at=now)
    result.tip = tip.seq
    return result


def _seq(raw: Any) -> Any:
    try:
        return raw["record"]["seq"]
    except (KeyError, TypeError):
        return "?"


def _evidence(session: Session, origin: str, header: dict[str, Any]) -> str | None:
    """The header we already hold that conflicts with the incoming one."""
    row = session.execute(
        select(store.RECORDS.c.header, store.RECORDS.c.sig).where(
            store.RECORDS.c.origin == origin, store.RECORDS.c.seq == header["seq"]
        )
    ).first()
    if row is None:
        row = session.execute(
            select(store.RECORDS.c.header, store.RECORDS.c.sig).where(
                store.RECORDS.c.origin == origin,
                store.RECORDS.c.record_id == header["id"],
                store.RECORDS.c.version == header["version"],
            )
        ).first()
    if row is None:
        return None
    return json.dumps({"record": json.loads(row[0]), "sig": row[1]})


def _quarantine(
    session: Session,
    raw: Any,
    *,
    peer: str,
    now: str,
    reason: str,
    detail: str,
    evidence: str | None = None,
) -> None:
    header = raw.get("record") if isinstance(raw, dict) else None
    header = header if isinstance(header, dict) else {}
    try:
        text = canonical_bytes(raw).decode("utf-8")
    except HealthnetError:
        text = json.dumps(raw, default=str)[:100_000]
    session.add(
        Quarantine(
            at=now,
            peer=peer,
            origin=str(header.get("origin"))[:32] if header.get("origin") else None,
            seq=header.get("seq") if isinstance(header.get("seq"), int) else None,
            record_id=str(header.get("id"))[:36] if header.get("id") else None,
            reason=reason,
            detail=detail[:1000],
            envelope=text,
            evidence=evidence,
        )
    )
