"""What bulk import asks of the database beyond publishing: which organizers exist, and
what is held now for the ids a file would write (the console's preview).

An event names its organizer by member id; import refuses an event whose organizer is
not in the directory (of any origin), before anything of its batch is signed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from node.db import store
from node.db.batches import chunks
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


def known_members_batched(session: Session, *, record_ids: Collection[str]) -> set[str]:
    """``known_members`` for a whole file's organizers (any number of ids), in chunks that
    stay under SQLite's parameter limit."""
    found: set[str] = set()
    for chunk in chunks(sorted(set(record_ids))):
        found |= known_members(session, record_ids=chunk)
    return found


@dataclass(frozen=True)
class Held:
    """What the store holds for a file's record ids: this origin's current versions (with
    the body hash ``publisher.decide`` compares) and the ids another origin owns."""

    current: dict[str, store.Current]
    foreign: dict[str, str]


def held(session: Session, *, origin: str, record_ids: Collection[str]) -> Held:
    """Read exactly what ``publisher.publish`` reads before it decides, batched as it is
    (``store`` chunks each lookup), so a preview and the import agree row for row."""
    ids = list(dict.fromkeys(record_ids))
    return Held(
        current=store.current_versions(session, origin=origin, record_ids=ids),
        foreign=store.foreign_owners(session, origin=origin, record_ids=ids),
    )
