"""What bulk import asks of the database beyond publishing: which organizers exist.

An event names its organizer by member id; import refuses an event whose organizer is
not in the directory (of any origin), before anything of its batch is signed.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlmodel import Session

from node.db.tables import ENTRIES


def known_members(session: Session, *, record_ids: Collection[str]) -> set[str]:
    """The ids among ``record_ids`` that are members in the directory now. One query: an
    import batch is at most a few hundred rows."""
    return set(
        session.execute(
            select(ENTRIES.c.record_id).where(
                ENTRIES.c.record_id.in_(record_ids), ENTRIES.c.kind == "member"
            )
        ).scalars()
    )
