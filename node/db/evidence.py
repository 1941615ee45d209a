"""Equivocation proofs held: checked (federation.evidence.check_proof) before they are
stored, kept for good, served to peers at ``GET /federation/evidence``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Select, func, select
from sqlmodel import Session

from federation.canonical import canonical_bytes
from federation.evidence import Finding
from node.db.tables import EVIDENCE, QUARANTINE, RECORDS, EvidenceRow


@dataclass(frozen=True)
class Held:
    origin: str
    seq: int
    shape: str
    learned_from: str
    at: str
    proof: dict[str, Any]


def add(
    session: Session, proof: dict[str, Any], finding: Finding, *, learned_from: str, now: str
) -> bool:
    """Keep a checked proof; False if the same pair of headers is held already."""
    hash_a, hash_b = sorted(finding.hashes)
    exists = session.execute(
        select(EVIDENCE.c.id).where(EVIDENCE.c.hash_a == hash_a, EVIDENCE.c.hash_b == hash_b)
    ).first()
    if exists is not None:
        return False
    session.add(
        EvidenceRow(
            origin=finding.origin, seq=finding.seq, shape=finding.shape.value,
            hash_a=hash_a, hash_b=hash_b, proof=canonical_bytes(proof).decode("utf-8"),
            learned_from=learned_from, at=now,
        )
    )  # fmt: skip
    session.flush()
    return True


def held(session: Session, *, origin: str | None = None, limit: int = 200) -> list[Held]:
    """Proofs held, oldest first (of one origin if given)."""
    stmt = select(EvidenceRow).order_by(EVIDENCE.c.id).limit(limit)
    if origin is not None:
        stmt = stmt.where(EVIDENCE.c.origin == origin)
    return [
        Held(r.origin, r.seq, r.shape, r.learned_from, r.at, json.loads(r.proof))
        for r in session.execute(stmt).scalars()
    ]


def count(session: Session) -> int:
    return int(session.execute(_count_statement()).scalar_one())


@cache
def _count_statement() -> Select[Any]:
    """Built once: every peer's heads request says how many proofs are held."""
    return select(func.count()).select_from(EVIDENCE)


def pairs(session: Session) -> set[tuple[str, str]]:
    """The (hash_a, hash_b) of every proof held: what a peer need not send again."""
    return {(a, b) for a, b in session.execute(select(EVIDENCE.c.hash_a, EVIDENCE.c.hash_b))}


def origins(session: Session) -> dict[str, int]:
    """Origins proven to have equivocated, with how many proofs are held of each."""
    rows = session.execute(
        select(EVIDENCE.c.origin, func.count()).group_by(EVIDENCE.c.origin)
    ).all()
    return {str(o): int(n) for o, n in rows}


def signed_header_at(session: Session, *, origin: str, seq: int) -> dict[str, Any] | None:
    """The signed header held at ``seq`` of ``origin``, as ``{"record", "sig"}``: one side
    of a proof (a stub's header proves as much as its live version's)."""
    row = session.execute(
        select(RECORDS.c.header, RECORDS.c.sig).where(
            RECORDS.c.origin == origin, RECORDS.c.seq == seq
        )
    ).first()
    return None if row is None else {"record": json.loads(row[0]), "sig": row[1]}


def quarantined_pairs(session: Session) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(the envelope refused, the signed header held) of every equivocation that ingest
    quarantined with its evidence."""
    rows = session.execute(
        select(QUARANTINE.c.envelope, QUARANTINE.c.evidence).where(
            QUARANTINE.c.reason == "equivocation", QUARANTINE.c.evidence.is_not(None)
        )
    ).all()
    out = []
    for envelope, held in rows:
        try:
            pair = (json.loads(envelope), json.loads(held))
        except ValueError:
            continue
        if isinstance(pair[0], dict) and isinstance(pair[1], dict):
            out.append(pair)
    return out
