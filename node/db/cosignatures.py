"""Checkpoint cosignatures held: the newest of each witness for each origin.

Every row was verified (federation.witness.check_cosignature) or signed by this node
before it was stored. A newer statement of a witness replaces its older one only if it
is for a larger (or equal) size: a peer cannot roll a witness's word back by replaying an
old statement.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlmodel import Session

from federation.witness import Checkpoint, Cosignature
from node.db.tables import COSIGNATURES, CosignatureRow


def keep(session: Session, cosigs: Iterable[Cosignature], *, now: str) -> int:
    """Store each cosignature that is newer than the one held of its (origin, witness);
    returns how many were stored."""
    stored = 0
    for cosig in cosigs:
        cp = cosig.checkpoint
        row = session.get(CosignatureRow, (cp.origin, cosig.witness))
        if row is not None and (row.size, row.time) >= (cp.size, cosig.time):
            continue
        if row is None:
            row = CosignatureRow(
                origin=cp.origin, witness=cosig.witness, size=cp.size, head=cp.head,
                key_id=cosig.key_id, time=cosig.time, sig=cosig.sig, received_at=now,
            )  # fmt: skip
        else:
            row.size, row.head, row.key_id = cp.size, cp.head, cosig.key_id
            row.time, row.sig, row.received_at = cosig.time, cosig.sig, now
        session.add(row)
        stored += 1
    return stored


def held(session: Session, *, origin: str | None = None) -> list[Cosignature]:
    """Every cosignature held (of one origin if given), by origin then witness."""
    stmt = select(
        COSIGNATURES.c.origin, COSIGNATURES.c.size, COSIGNATURES.c.head,
        COSIGNATURES.c.witness, COSIGNATURES.c.key_id, COSIGNATURES.c.time,
        COSIGNATURES.c.sig,
    ).order_by(COSIGNATURES.c.origin, COSIGNATURES.c.witness)  # fmt: skip
    if origin is not None:
        stmt = stmt.where(COSIGNATURES.c.origin == origin)
    return [
        Cosignature(Checkpoint(o, int(size), head), w, key_id, time, sig)
        for o, size, head, w, key_id, time, sig in session.execute(stmt)
    ]


def forget(session: Session, *, origin: str, witness: str) -> None:
    """Drop a witness's statement of an origin (it conflicted, and is kept as evidence)."""
    row = session.get(CosignatureRow, (origin, witness))
    if row is not None:
        session.delete(row)
