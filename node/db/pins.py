"""Where the entries a search finds are: the dots of the directory's map.

The list beside the map is paged, the map is not: it shows every match that has
coordinates, up to ``LIMIT``, so a reader sees where a whole search's members are. The
filters are the list's own (``node.db.search.matching``), so map and list never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session

from node.db.search import COUNT_CAP, Query, matching
from node.db.tables import ENTRIES

# A map with more dots than this is a blot, and the page would grow by ~100 bytes a dot.
LIMIT = 1000


@dataclass(frozen=True)
class Pin:
    record_id: str
    name: str
    city: str | None
    lat: float
    lon: float


@dataclass(frozen=True)
class Pins:
    """The pins drawn, and how many matches have a place at all (more than drawn when the
    search finds more than ``LIMIT``; with ``placed_capped``, more than ``placed``)."""

    pins: list[Pin]
    placed: int
    placed_capped: bool = False


def pins(session: Session, query: Query, *, limit: int | None = None) -> Pins:
    """The matches of ``query`` that have coordinates, in name order, at most ``limit``
    (``LIMIT`` when not given)."""
    limit = LIMIT if limit is None else limit
    dialect = session.get_bind().dialect.name
    found = matching(session, query, dialect)
    if found is None:
        return Pins([], 0)  # no entry has the words
    where = [*found, ENTRIES.c.lat.is_not(None), ENTRIES.c.lon.is_not(None)]
    rows = session.execute(
        select(ENTRIES.c.record_id, ENTRIES.c.name, ENTRIES.c.city, ENTRIES.c.lat, ENTRIES.c.lon)
        .where(*where)
        .order_by(ENTRIES.c.sort_name, ENTRIES.c.pk)
        .limit(limit)
    ).all()
    drawn = [Pin(r[0], r[1], r[2], float(r[3]), float(r[4])) for r in rows]
    placed = len(drawn)
    if placed == limit:
        # Counted as the list counts: at most COUNT_CAP + 1, checking entries as a walk does,
        # so a map of "health" at a million members does not read every match.
        capped = select(ENTRIES.c.pk).where(*where).limit(COUNT_CAP + 1).subquery()
        placed = int(session.execute(select(func.count()).select_from(capped)).scalar_one())
        if placed > COUNT_CAP:
            return Pins(drawn, COUNT_CAP, placed_capped=True)
    return Pins(drawn, placed)
