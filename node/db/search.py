"""Directory queries: filters, ranked full-text search, ``near=`` and keyset cursors.

Pagination is keyset, never OFFSET: the cursor holds the sort key of the last row served,
and the next page starts strictly after it ("exclusive cursor: a page never repeats its last
row"). Every sort key ends with the entry's immutable ``pk``, so the order is total, and a
row that exists unchanged while a client pages is served exactly once whatever else is
inserted, edited or deleted meanwhile. The cursor is self-contained (no server session) and
bound to its query by a fingerprint, so it cannot be replayed against different filters.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    func,
    literal,
    literal_column,
    select,
    tuple_,
)
from sqlmodel import Session

from federation.canonical import b64url, b64url_decode
from federation.errors import WireFormatError
from node.db import fulltext, nearby
from node.db.geo import distance_sql
from node.db.tables import ENTRIES, TAGS
from node.db.text import tokens


@dataclass(frozen=True)
class Query:
    kind: str
    limit: int = 20
    region: str | None = None
    country: str | None = None
    category: str | None = None
    role: str | None = None
    topic: str | None = None
    language: str | None = None
    organizer: str | None = None
    attendance: str | None = None  # events: "online" or "in_person" (a hybrid is both)
    q: str | None = None
    near: tuple[float, float] | None = None
    within_km: float | None = None
    ends_after: str | None = None  # events: still running at or after this UTC instant
    starts_before: str | None = None  # events: starting before this UTC instant

    def fingerprint(self) -> str:
        fields = {k: v for k, v in asdict(self).items() if k != "limit"}
        raw = json.dumps(fields, sort_keys=True, default=str).encode()
        return b64url(hashlib.sha256(raw).digest()[:9])


@dataclass(frozen=True)
class Row:
    pk: int
    record_id: str
    origin: str
    version: int
    updated_at: str
    body: str
    starts_at: str | None
    ends_at: str | None
    distance_km: float | None


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    next_cursor: str | None
    total: int | None
    total_capped: bool = False  # more than ``total`` match: counting stopped at the cap


ROW_COLUMNS = (
    ENTRIES.c.pk,
    ENTRIES.c.record_id,
    ENTRIES.c.origin,
    ENTRIES.c.version,
    ENTRIES.c.updated_at,
    ENTRIES.c.body,
    ENTRIES.c.starts_at,
    ENTRIES.c.ends_at,
)


def to_row(r: Any, distance_km: float | None) -> Row:
    return Row(
        pk=r.pk,
        record_id=r.record_id,
        origin=r.origin,
        version=r.version,
        updated_at=r.updated_at,
        body=r.body,
        starts_at=r.starts_at,
        ends_at=r.ends_at,
        distance_km=distance_km,
    )


def encode_cursor(query: Query, key: Sequence[Any]) -> str:
    return b64url(json.dumps([query.fingerprint(), *key], separators=(",", ":")).encode())


def key_types(query: Query) -> tuple[type, ...]:
    """The JSON type of each sort-key value, as ``_sort_keys`` orders them."""
    if query.near is not None:
        return (float, int)
    if query.kind == "event":
        return (str, int)
    if tokens(query.q or ""):
        return (int, str, int)
    return (str, int)


def decode_cursor(query: Query, cursor: str) -> list[Any]:
    """The sort key a cursor carries, checked value by value: a cursor is client input, and
    an edited one must get a 422, never reach SQL with the wrong types."""
    try:
        data = json.loads(b64url_decode(cursor, field="query.cursor"))
    except (ValueError, WireFormatError) as exc:
        raise WireFormatError("not a cursor issued by this node", field="query.cursor") from exc
    types = key_types(query)
    if not isinstance(data, list) or len(data) != len(types) + 1 or data[0] != query.fingerprint():
        raise WireFormatError("the cursor belongs to a different query", field="query.cursor")
    values = data[1:]
    for value, expected in zip(values, types, strict=True):
        ok = type(value) is expected or (expected is float and type(value) is int)
        if not ok or (type(value) in (int, float) and not abs(value) < 2**53):
            raise WireFormatError("not a cursor issued by this node", field="query.cursor")
        if type(value) is str and ("\x00" in value or len(value) > 400):
            raise WireFormatError("not a cursor issued by this node", field="query.cursor")
    return values


# A count with a cap stops here: a page of "health" costs an index walk of 21 entries, and
# its exact count, reading all 66k matches at 100k members, would cost more than ten pages.
COUNT_CAP = 10_000


def search(
    session: Session, query: Query, *, cursor: str | None, count: bool, count_cap: int | None = None
) -> Page:
    """One page of ``query`` after ``cursor``; with ``count``, the number of matches too,
    exact, or at most ``count_cap`` (then ``total_capped`` says that more match)."""
    dialect = session.get_bind().dialect.name
    after = decode_cursor(query, cursor) if cursor else None
    ranked = query.near is None and query.kind == "member" and bool(tokens(query.q or ""))
    where = [] if ranked else matching(session, query, dialect)
    if where is None:
        return Page([], None, 0 if count else None)  # no entry has these words
    if ranked:
        keys = _ranked_keys(session, query, dialect, after)
    else:
        keys = _ordered_keys(session, query, dialect, where, after)
    more = len(keys) > query.limit
    keys = keys[: query.limit]
    page_rows = _fetch(session, keys, with_distance=query.near is not None)
    next_cursor = encode_cursor(query, list(keys[-1][1:])) if more and keys else None
    if not count:
        return Page(page_rows, next_cursor, None)
    total = _count(session, query, dialect, count_cap)
    if count_cap is not None and total > count_cap:
        return Page(page_rows, next_cursor, count_cap, total_capped=True)
    return Page(page_rows, next_cursor, total)


def _count(session: Session, query: Query, dialect: str, cap: int | None) -> int:
    """The matches, or ``cap + 1`` when there are more: a capped count reads at most that
    many, checking entries as a walk does (``matching``), where an exact one reads every
    match from the full-text index."""
    where = matching(session, query, dialect, walk=cap is not None)
    if where is None:
        return 0
    stmt = select(ENTRIES.c.pk).where(*where)
    params: dict[str, float] = {}
    if query.near is not None:
        stmt = stmt.where(ENTRIES.c.lat.is_not(None))
        if query.within_km:
            distance = distance_sql(ENTRIES.c.lat, ENTRIES.c.lon, *query.near)
            stmt, params = nearby.within(stmt, query.near, query.within_km, distance)
    if cap is not None:
        stmt = stmt.limit(cap + 1)
    counted = select(func.count()).select_from(stmt.subquery())
    return int(session.execute(counted, params).scalar_one())


def matching(
    session: Session, query: Query, dialect: str, *, walk: bool = True
) -> list[ColumnElement[bool]] | None:
    """``filters`` as SQLite runs them fastest, or None when no entry has the words: few
    full-text matches are named outright, so SQLite looks them up by rowid and sorts a
    handful instead of walking an index of the whole kind; many are checked entry by entry
    as a walk that stops after a page passes them (``_words_in_row``), instead of
    materialising every match first. A count (``walk=False``) reads every match anyway,
    and does so fastest from the full-text index. Shared with ``node.db.pins``."""
    words = tokens(query.q or "")
    if dialect != "sqlite" or not words:
        return filters(query, dialect)
    few = fulltext.few_matches(session, words)
    if few is not None and not few:
        return None
    if few is None and not walk:
        return filters(query, dialect)
    plain = filters(replace(query, q=None), dialect)
    return [*plain, ENTRIES.c.pk.in_(sorted(few)) if few else fulltext.words_in_row(words, None)]


def _ordered_keys(
    session: Session,
    query: Query,
    dialect: str,
    where: list[ColumnElement[bool]],
    after: list[Any] | None,
) -> list[Any]:
    """``(pk, *sort key)`` of the next ``limit + 1`` rows, narrow rows only: sorting the
    wide body column is what made ``near=`` slow; bodies are fetched for the page alone."""
    if query.near is not None:
        return nearby.nearest_keys(session, query, where, after)
    sort = _sort_keys(query, dialect)
    stmt = select(ENTRIES.c.pk, *sort).where(*where)
    if after is not None:
        stmt = stmt.where(tuple_(*sort) > tuple_(*after))
    return list(session.execute(stmt.order_by(*sort).limit(query.limit + 1)))


def _ranked_keys(
    session: Session, query: Query, dialect: str, after: list[Any] | None
) -> list[Any]:
    """Full-text search, name matches first: each tier is walked in (sort_name, pk) order
    on its index, and the second tier runs only if the first leaves the page short. A common
    word then costs one index walk that stops after a page, not a sort of every match."""
    words = tokens(query.q or "")
    plain = filters(replace(query, q=None), dialect)
    keys: list[Any] = []
    for tier in (0, 1):
        if after is not None and after[0] > tier:
            continue
        match = fulltext.tier_match(session, words, dialect, tier)
        if match is None:
            continue  # nothing in this tier (an empty IN list would still walk the index)
        stmt = select(ENTRIES.c.pk, literal(tier), ENTRIES.c.sort_name, ENTRIES.c.pk)
        # The kind as a literal too: the covering index of the walk is partial, members only,
        # and SQLite uses a partial index only when the query states its condition.
        stmt = stmt.where(*plain, ENTRIES.c.kind == literal_column("'member'"), match)
        if after is not None and after[0] == tier:
            stmt = stmt.where(
                tuple_(ENTRIES.c.sort_name, ENTRIES.c.pk) > tuple_(after[1], after[2])
            )
        stmt = stmt.order_by(ENTRIES.c.sort_name, ENTRIES.c.pk).limit(query.limit + 1 - len(keys))
        keys.extend(session.execute(stmt))
        if len(keys) > query.limit:
            break
    return keys


def _fetch(session: Session, keys: list[Any], *, with_distance: bool) -> list[Row]:
    if not keys:
        return []
    rows = {
        r.pk: r
        for r in session.execute(select(*ROW_COLUMNS).where(ENTRIES.c.pk.in_([k[0] for k in keys])))
    }
    return [
        to_row(rows[k[0]], round(k[1], 3) if with_distance else None) for k in keys if k[0] in rows
    ]


def filters(query: Query, dialect: str) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a query, shared with ``node.db.pins`` so that the directory's
    map shows exactly the members its list finds."""
    where: list[ColumnElement[bool]] = [ENTRIES.c.kind == query.kind]
    for col, value in (
        (ENTRIES.c.region, query.region),
        (ENTRIES.c.country, query.country),
        (ENTRIES.c.category, query.category),
        (ENTRIES.c.role, query.role),
        (ENTRIES.c.organizer, query.organizer),
    ):
        if value is not None:
            where.append(col == value)
    for tag, value in (
        ("topic", query.topic),
        ("language", query.language),
        ("attendance", query.attendance),
    ):
        if value is not None:
            where.append(
                exists().where(
                    and_(TAGS.c.entry_pk == ENTRIES.c.pk, TAGS.c.tag == tag, TAGS.c.value == value)
                )
            )
    if query.ends_after is not None:
        where.append(ENTRIES.c.ends_at >= query.ends_after)
    if query.starts_before is not None:
        where.append(ENTRIES.c.starts_at < query.starts_before)
    words = tokens(query.q or "")
    if words:
        where.append(fulltext.match(words, dialect, name_only=False))
    return where


def _sort_keys(query: Query, dialect: str) -> list[ColumnElement[Any]]:
    if query.near is not None:
        return [distance_sql(ENTRIES.c.lat, ENTRIES.c.lon, *query.near), ENTRIES.c.pk]
    if query.kind == "event":
        return [ENTRIES.c.starts_at, ENTRIES.c.pk]
    # (Member text search ranks in _ranked_keys: name matches first, then the others, a rank
    # that depends on the row and the query alone, so it cannot shift between two pages.)
    return [ENTRIES.c.sort_name, ENTRIES.c.pk]
