"""``near=``: the nearest entries first, from bounding boxes an index can serve.

A box is tried at each radius in turn (``steps``) until it yields a full page: every
entry within the radius is inside the box, so a full page from it is exactly the nearest
rows, and only the box's rows are measured and sorted. The first radius is small because
a dense city holds a page within 2 km (Chicago: 34 members at 100,000, 340 at a million),
and what a step costs grows with the rows in its box: at a million members a 10 km box
there meant sorting 5,000 distances for 20 rows (issue 13). A box that finds no more than
the one before it skips a radius (``next_step``): around a town in empty country the
boxes in between only cost a query each.

The statement of a step is executed with the point, each radius's bounds and the cursor
as parameters. Building the SQL expression (the haversine, the box, the filters, the
cursor) cost more than SQLite's work, so a statement is built once per filters and box
shape and kept (``_STATEMENTS``) for every later search with the same filters, at any
point: in process at 100,000 members, building the haversine alone was about a fifth of
a sparse point's CPU. The shape changes only when the box's longitudes split at the
antimeridian or cover the globe. A text query's filters name the matches of the moment,
so its statements are built for that search alone.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import astuple, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Float, Integer, Select, bindparam, or_, select, tuple_
from sqlmodel import Session

from node.db.geo import Box, bounding_box, distance_to_point_sql, point_params
from node.db.tables import ENTRIES

if TYPE_CHECKING:
    from node.db.search import Query

# The last step (None) is the whole table.
NEAR_STEPS_KM: tuple[float | None, ...] = (2.0, 10.0, 50.0, 250.0, 1000.0, 4000.0, None)


# Step statements by (filters, limit, cursor or not, box shape); bounded, since the filters
# come from clients. A dict: concurrent threads at worst build one twice.
_STATEMENTS: dict[Hashable, Select[Any]] = {}
_STATEMENTS_MAX = 512
_DISTANCE = distance_to_point_sql(ENTRIES.c.lat, ENTRIES.c.lon)
_SORT = (_DISTANCE, ENTRIES.c.pk)
_AFTER = tuple_(*_SORT) > tuple_(
    bindparam("after_distance", type_=Float), bindparam("after_pk", type_=Integer)
)


def steps(within_km: float | None) -> tuple[float | None, ...]:
    """The radii to try: every step, or those under ``within_km`` and then it. Pure."""
    if not within_km:
        return NEAR_STEPS_KM
    return (*(r for r in NEAR_STEPS_KM if r is not None and r < within_km), within_km)


def box_params(box: Box, radius: float) -> dict[str, float]:
    """The bind values of ``in_box`` for one box. Pure."""
    params = {"lat_min": box.lat_min, "lat_max": box.lat_max, "radius": radius}
    for i, (lo, hi) in enumerate(box.lon_ranges):
        params[f"lon_lo{i}"], params[f"lon_hi{i}"] = lo, hi
    return params


def in_box(distance: ColumnElement[float], lon_ranges: int) -> list[ColumnElement[bool]]:
    """Within ``:radius`` of the point, in a box of ``lon_ranges`` longitude ranges (0: every
    longitude), the bounds as parameters (``box_params``)."""
    lat = ENTRIES.c.lat
    where = [lat.between(bindparam("lat_min", type_=Float), bindparam("lat_max", type_=Float))]
    ranges = [
        ENTRIES.c.lon.between(
            bindparam(f"lon_lo{i}", type_=Float), bindparam(f"lon_hi{i}", type_=Float)
        )
        for i in range(lon_ranges)
    ]
    if len(ranges) == 1:
        where.append(ranges[0])
    elif ranges:
        where.append(or_(*ranges))
    where.append(distance <= bindparam("radius", type_=Float))
    return where


def within(
    stmt: Select[Any], near: tuple[float, float], radius: float, distance: ColumnElement[float]
) -> tuple[Select[Any], dict[str, float]]:
    """``stmt`` narrowed to ``radius`` around ``near``, and the parameters to run it with."""
    box = bounding_box(near[0], near[1], radius)
    return stmt.where(*in_box(distance, len(box.lon_ranges))), box_params(box, radius)


def nearest_keys(
    session: Session,
    query: Query,
    where: list[ColumnElement[bool]],
    after: Sequence[Any] | None,
) -> list[Any]:
    """``(pk, distance, pk)`` of the next ``query.limit + 1`` entries by distance from
    ``query.near`` after the cursor ``after``, widening the box until a page is full or the
    radius asked for (or the whole table) is reached."""
    assert query.near is not None  # the caller's branch
    # Filters without words are a function of the query's fields alone (search.filters):
    # their statements are kept; a text query's name today's matches and are not.
    reusable = not query.q
    key = astuple(replace(query, near=None, within_km=None)), after is not None
    base: Select[Any] | None = None
    point = point_params(*query.near)
    if after is not None:
        point |= {"after_distance": after[0], "after_pk": after[1]}
    rows: list[Any] = []
    radii = steps(query.within_km)
    at, previous = 0, -1
    while at < len(radii):
        radius = radii[at]
        params = dict(point)
        shape: int | None = None
        if radius is not None:
            box = bounding_box(query.near[0], query.near[1], radius)
            shape = len(box.lon_ranges)
            params |= box_params(box, radius)
        stmt = _STATEMENTS.get((key, shape)) if reusable else None
        if stmt is None:
            if base is None:
                base = select(ENTRIES.c.pk, *_SORT).where(*where, ENTRIES.c.lat.is_not(None))
                if after is not None:
                    base = base.where(_AFTER)
            narrowed = base if shape is None else base.where(*in_box(_DISTANCE, shape))
            stmt = narrowed.order_by(*_SORT).limit(query.limit + 1)
            if reusable:
                if len(_STATEMENTS) >= _STATEMENTS_MAX:
                    _STATEMENTS.clear()
                _STATEMENTS[(key, shape)] = stmt
        rows = list(session.execute(stmt, params))
        if len(rows) > query.limit or radius is None or radius == query.within_km:
            break
        at, previous = (
            next_step(at, found=len(rows), previous=previous, steps=len(radii)),
            len(rows),
        )
    return rows


def next_step(at: int, *, found: int, previous: int, steps: int) -> int:
    """The step after ``at``, whose box held ``found`` rows (``previous`` the step before).
    A box that found no more than the one inside it has reached empty country around a
    town (Yellowknife: 14 members within 10 km and within 250 km alike), so one radius is
    skipped; never the last, which is the radius asked for or the whole table. Pure."""
    if found == previous and at + 2 < steps:
        return at + 2
    return at + 1
