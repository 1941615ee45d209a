"""An origin as a whole: the operator's two actions on everything held of one origin.

Serialising edits on an origin's sequence row, and forgetting an origin so the next pull
fetches it from scratch. Appending to an origin's log is node.db.store's.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from node.db.batches import chunks
from node.db.tables import ENTRIES, RECORDS, SEQUENCES, TAGS


def lock(session: Session, *, origin: str) -> None:
    """Hold ``origin``'s sequence row for the rest of the transaction, so two writers that
    read-then-write (the hub's roster edits) queue instead of building on the same state.
    SQLite's ``BEGIN IMMEDIATE`` already queues them; PostgreSQL needs the row lock."""
    session.execute(
        select(SEQUENCES.c.origin).where(SEQUENCES.c.origin == origin).with_for_update()
    )


def forget(session: Session, *, origin: str) -> int:
    """Delete every record and directory entry of ``origin`` and reset its summary to
    empty (the row stays, so the origin is still known). Returns how many records went."""
    gone = session.execute(
        select(func.count()).select_from(RECORDS).where(RECORDS.c.origin == origin)
    ).scalar_one()
    session.execute(delete(RECORDS).where(RECORDS.c.origin == origin))
    pks = [
        r[0]
        for r in session.execute(
            ENTRIES.select().with_only_columns(ENTRIES.c.pk).where(ENTRIES.c.origin == origin)
        )
    ]
    for chunk in chunks(pks):
        session.execute(delete(TAGS).where(TAGS.c.entry_pk.in_(chunk)))
    session.execute(delete(ENTRIES).where(ENTRIES.c.origin == origin))
    session.execute(
        update(SEQUENCES)
        .where(SEQUENCES.c.origin == origin)
        .values(last_seq=0, head=None, count=0, digest="0" * 64)
    )
    return int(gone or 0)
