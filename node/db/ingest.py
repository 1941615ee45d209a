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
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from federation.canonical import canonical_bytes, sha256_tag
from federation.checks import Candidate, reason_of, verified
from federation.errors import HealthnetError
from federation.merge import Held, Tip, Verdict, merge
from federation.trust import Trust
from node.db import store
from node.db.tables import QUARANTINE, RECORDS, SEQUENCES, Quarantine
from schemas.record import MAX_SAFE_INTEGER

log = logging.getLogger(__name__)


@dataclass
class PageResult:
    applied: int = 0
    history: int = 0
    duplicates: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    stopped: str | None = None  # why the page was cut short, if it was
    withheld: list[int] = field(default_factory=list)  # stubs newer than anything held
    filled: int = 0  # withheld bodies restored
    tip: int = 0
    roster_changed: bool = False


def tip_of(session: Session, *, origin: str) -> Tip:
    row = session.execute(
        select(SEQUENCES.c.last_seq, SEQUENCES.c.head).where(
            SEQUENCES.c.origin == origin
        )
    ).first()
    return Tip(0, None) if row is None else Tip(int(row[0]), row[1])


def _held_at(session: Session, origin: str, seq: int) -> str | None:
    header = session.execute(
        select(RECORDS.c.header).where(
            RECORDS.c.origin == origin, RECORDS.c.seq == seq
        )
    ).scalar_one_or_none()
    return None if header is None else sha256_tag(header.encode("utf-8"))


@dataclass
class Holdings:
    """What the receiver holds of the ids in a page: every version's header hash, and the
    ids that already belong to another origin."""

    versions: dict[str, dict[int, str]]
    foreign: dict[str, str]

    def current(self, record_id: str) -> Held | None:
        versions = self.versions.get(record_id)
        if not versions:
            return None
        top = max(versions)
        return Held(top, versions[top], frozenset(versions) - {top})


def _holdings(session: Session, origin: str, record_ids: set[str]) -> Holdings:
    """One query per 500 ids: all versions held of each id (history rows count, so an old
    version cannot be replayed as new), and which ids another origin already uses."""
    holdings = Holdings({}, {})
    ids = sorted(record_ids)
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(
                RECORDS.c.origin,
                RECORDS.c.record_id,
                RECORDS.c.version,
                RECORDS.c.header,
            ).where(RECORDS.c.record_id.in_(ids[start : start + 500]))
        )
        for owner, rid, version, header in rows:
            if owner != origin:
                holdings.foreign[rid] = owner
                continue
            holdings.versions.setdefault(rid, {})[int(version)] = sha256_tag(header.encode("utf-8"))
    return holdings


def ingest_page(
    session: Session,
    *,
    origin: str,
    records: Sequence[Any],
    trust: Trust,
    peer: str,
    now: str,
    on_reject: Callable[[str], None] = lambda reason: None,
    pool: Executor | None = None,
) -> PageResult:
    """Verify and apply one page. The caller commits (records, tip and quarantine at once).

    ``pool`` runs the signature checks alongside the rest (None: in this thread).
    """
    result = PageResult()
    tip = tip_of(session, origin=origin)
    candidates, failure = verified(records, trust, origin, pool)
    held = _holdings(session, origin, {c.header["id"] for c in candidates})
    current: list[store.Prepared] = []
    history: list[store.Prepared] = []
    fills: list[Candidate] = []
    stop: tuple[Any, str, str, str | None] | None = None
    for candidate in candidates:
        header, body = candidate.header, candidate.raw["body"]
        incoming = sha256_tag(candidate.header_bytes)
        held_at = _held_at(session, origin, header["seq"]) if header["seq"] <= tip.seq else None
        verdict = merge(
            header,
            body,
            incoming_hash=incoming,
            tip=tip,
            held_at_seq=held_at,
            current=held.current(header["id"]),
            claimed_by=held.foreign.get(header["id"]),
        )
        if verdict is Verdict.FOREIGN:
            owner = held.foreign[header["id"]]
            detail = f"id {header['id']} belongs to origin {owner}"
            stop = (candidate.raw, "OutOfScope", detail, None)
            break
        if verdict is Verdict.DUPLICATE and body is not None and header["seq"] <= tip.seq:
            fills.append(candidate)
        if verdict is Verdict.DUPLICATE:
            result.duplicates += 1
            continue
        if verdict in (Verdict.GAP, Verdict.EQUIVOCATION):
            evidence = (
                _evidence(session, origin, header) if verdict is Verdict.EQUIVOCATION else None
            )
            stop = (candidate.raw, verdict.value, f"tip {tip.seq}", evidence)
            if verdict is Verdict.EQUIVOCATION:
                log.warning("equivocation by %s at seq %s via peer %s", origin, header["seq"], peer)
            break
        header_text = candidate.header_bytes.decode("utf-8")
        if verdict is Verdict.APPLY:
            body_text = (
                None if candidate.body_bytes is None else candidate.body_bytes.decode("utf-8")
            )
            current.append(store.Prepared(candidate.raw, header_text, body_text))
            held.versions.setdefault(header["id"], {})[header["version"]] = incoming
            result.applied += 1
            result.roster_changed = result.roster_changed or header["kind"] == "roster"
        else:  # HISTORY or STUB: keeps the log dense, never changes the directory
            history.append(store.Prepared({**candidate.raw, "body": None}, header_text, None))
            held.versions.setdefault(header["id"], {})[header["version"]] = incoming
            result.history += 1
            if verdict is Verdict.STUB:
                result.withheld.append(header["seq"])
        tip = Tip(header["seq"], incoming)
    if stop is None and failure is not None:
        raw, exc = failure
        stop = (raw, reason_of(exc), str(exc), None)
    if stop is not None:
        raw, reason, detail, evidence = stop
        _quarantine(
            session, raw, peer=peer, now=now, reason=reason, detail=detail, evidence=evidence
        )
        result.rejected[reason] = result.rejected.get(reason, 0) + 1
        result.stopped = f"{reason} at seq {_seq(raw)}"
        on_reject(reason)
    store.apply(session, current, history=history, received_at=now)
    result.filled = _fill(session, origin, fills, received_at=now)
    result.tip = tip.seq
    return result


def _fill(session: Session, origin: str, candidates: list[Candidate], *, received_at: str) -> int:
    """Bodies for stubs that were withheld: a full copy of a header already held as a stub
    (from an honest peer) restores the record if that stub is still its newest version."""
    restored: list[store.Prepared] = []
    for c in candidates:
        header = c.header
        row = session.execute(
            select(RECORDS.c.body, RECORDS.c.deleted).where(
                RECORDS.c.origin == origin, RECORDS.c.seq == header["seq"]
            )
        ).first()
        newer = session.execute(
            select(func.count())
            .select_from(RECORDS)
            .where(
                RECORDS.c.origin == origin,
                RECORDS.c.record_id == header["id"],
                RECORDS.c.version > header["version"],
            )
        ).scalar_one()
        if row is not None and row[0] is None and not row[1] and newer == 0 and c.body_bytes:
            restored.append(
                store.Prepared(c.raw, c.header_bytes.decode("utf-8"), c.body_bytes.decode("utf-8"))
            )
    store.fill(session, restored, received_at=received_at)
    return len(restored)


def _counter(value: Any) -> bool:
    return type(value) is int and 1 <= value <= MAX_SAFE_INTEGER


def _seq(raw: Any) -> Any:
    try:
        return raw["record"]["seq"]
    except (KeyError, TypeError):
        return "?"


def _evidence(session: Session, origin: str, header: dict[str, Any]) -> str | None:
    """The header we already hold that conflicts with the incoming one: the same seq, else the
    same (id, version), else the tip the incoming ``prev`` fails to link to."""
    row = session.execute(
        select(RECORDS.c.header, RECORDS.c.sig).where(
            RECORDS.c.origin == origin, RECORDS.c.seq == header["seq"]
        )
    ).first()
    if row is None:
        row = session.execute(
            select(RECORDS.c.header, RECORDS.c.sig).where(
                RECORDS.c.origin == origin,
                RECORDS.c.record_id == header["id"],
                RECORDS.c.version == header["version"],
            )
        ).first()
    if row is None and isinstance(header.get("seq"), int):
        row = session.execute(
            select(RECORDS.c.header, RECORDS.c.sig).where(
                RECORDS.c.origin == origin, RECORDS.c.seq == header["seq"] - 1
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
    origin = str(header.get("origin"))[:32] if header.get("origin") else None
    seq = header["seq"] if _counter(header.get("seq")) else None
    if origin is not None and seq is not None:
        # A peer that keeps serving the same bad record is quarantined once, not per pull.
        seen = session.execute(
            select(func.count())
            .select_from(Quarantine)
            .where(
                QUARANTINE.c.peer == peer,
                QUARANTINE.c.origin == origin,
                QUARANTINE.c.seq == seq,
                QUARANTINE.c.reason == reason,
            )
        ).scalar_one()
        if seen:
            return
    try:
        text = canonical_bytes(raw).decode("utf-8")
    except HealthnetError:
        text = json.dumps(raw, default=str)[:100_000]
    session.add(
        Quarantine(
            at=now,
            peer=peer,
            origin=origin,
            seq=seq,
            record_id=str(header.get("id"))[:36] if header.get("id") else None,
            reason=reason,
            detail=detail[:1000],
            envelope=text,
            evidence=evidence,
        )
    )
