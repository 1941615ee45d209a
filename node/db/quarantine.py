"""Records refused from peers: kept with the reason, the peer and, for equivocation, the
conflicting header already held, so an operator can see what was refused and why, and
the evidence of a forked origin is never lost."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from federation.canonical import canonical_bytes
from federation.errors import HealthnetError
from node.db.tables import QUARANTINE, Quarantine
from schemas.record import MAX_SAFE_INTEGER


@dataclass(frozen=True)
class Alarm:
    origin: str | None
    seq: int | None
    peer: str
    at: str
    detail: str


def _counter(value: Any) -> bool:
    return type(value) is int and 1 <= value <= MAX_SAFE_INTEGER


def add(
    session: Session,
    raw: Any,
    *,
    peer: str,
    now: str,
    reason: str,
    detail: str,
    evidence: str | None = None,
) -> None:
    """Keep one refused envelope. A peer that keeps serving the same bad record is
    quarantined once, not once per pull. ``raw`` may be anything a peer sent."""
    header = raw.get("record") if isinstance(raw, dict) else None
    header = header if isinstance(header, dict) else {}
    origin = str(header.get("origin"))[:32] if header.get("origin") else None
    seq = header["seq"] if _counter(header.get("seq")) else None
    if origin is not None and seq is not None:
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


def by_reason(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(QUARANTINE.c.reason, func.count()).group_by(QUARANTINE.c.reason)
    ).all()
    return {str(reason): int(n) for reason, n in rows}


def total(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(Quarantine)).scalar_one())


def alarms(session: Session, *, limit: int = 50) -> list[Alarm]:
    """Equivocation alarms, oldest first."""
    rows = session.execute(
        select(Quarantine).where(QUARANTINE.c.reason == "equivocation").limit(limit)
    ).scalars()
    return [Alarm(q.origin, q.seq, q.peer, q.at, q.detail) for q in rows]


def grouped(session: Session) -> list[tuple[str, str | None, str, int]]:
    """(peer, origin, reason, count) over the whole quarantine."""
    rows = session.execute(
        select(QUARANTINE.c.peer, QUARANTINE.c.origin, QUARANTINE.c.reason, func.count())
        .group_by(QUARANTINE.c.peer, QUARANTINE.c.origin, QUARANTINE.c.reason)
    ).all()
    return [(str(p), o, str(r), int(n)) for p, o, r, n in rows]
