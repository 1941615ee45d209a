"""Reads of single entries of the search projection, shared by the API, the pages and the
calendar. The projection (``entries``) holds only current, live records, so a miss here
means "no such member or event" to every reader alike.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from node.db.batches import chunks
from node.db.search import ROW_COLUMNS, Row, to_row
from node.db.tables import ENTRIES


def one(session: Session, *, kind: str, record_id: str) -> Row | None:
    """The current entry of ``kind`` with ``record_id``, or None."""
    row = session.execute(
        select(*ROW_COLUMNS).where(ENTRIES.c.record_id == record_id, ENTRIES.c.kind == kind)
    ).first()
    return None if row is None else to_row(row, None)


def member_names(session: Session, *, ids: set[str]) -> dict[str, str]:
    """Member names by id, for showing an event's organizers; unknown ids are left out."""
    names: dict[str, str] = {}
    for batch in chunks(sorted(ids)):
        rows = session.execute(
            select(ENTRIES.c.record_id, ENTRIES.c.name).where(
                ENTRIES.c.record_id.in_(batch), ENTRIES.c.kind == "member"
            )
        ).all()
        # The projection's name column is the member body's name (db/projection.py).
        names.update((str(r.record_id), str(r.name)) for r in rows)
    return names
