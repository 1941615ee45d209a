"""The FHIR view's reads: every query the FHIR API (node/api/fhir.py) runs, so that the
FHIR modules under node/fhir stay pure.

Searches filter the ``entries`` projection (current, live records) and join the signed
row in ``records`` for its header and signature; reads and history go to ``records``
directly, because only there are deletions (signed tombstones) and receipt times.

One search is not a plain filter on the projection: a Location's ``name`` matches
``Location.name | Location.alias`` (HL7's ``Location-name``), and an event venue's own name
is served but not projected. It is read from the stored body (``venue.name``) and
compared in Python with the same folding as the projected names (see ``_venues_named``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    and_,
    cast,
    func,
    not_,
    or_,
    select,
    true,
    tuple_,
    type_coerce,
)
from sqlmodel import Session

from node.db.tables import ENTRIES, RECORDS
from node.db.text import fold, tokens

if TYPE_CHECKING:  # the parsed FHIR search; node.db needs only its attributes
    from node.fhir.dates import DateTest
    from node.fhir.params import Search, Text

KINDS = ("member", "event")
_RECORD = (
    RECORDS.c.origin,
    RECORDS.c.seq,
    RECORDS.c.record_id,
    RECORDS.c.kind,
    RECORDS.c.version,
    RECORDS.c.issued_at,
    RECORDS.c.received_at,
    RECORDS.c.deleted,
    RECORDS.c.header,
    RECORDS.c.sig,
    RECORDS.c.body,
)


@dataclass(frozen=True)
class Stored:
    """One row of ``records``: a signed version (or tombstone) as this node holds it."""

    origin: str
    seq: int
    record_id: str
    kind: str
    version: int
    issued_at: str
    received_at: str
    deleted: bool
    header: str  # canonical JSON, exactly as signed
    sig: str
    body: str | None  # canonical JSON; None for a tombstone

    def body_dict(self) -> dict[str, Any] | None:
        return None if self.body is None else dict(json.loads(self.body))


def _stored(row: Any) -> Stored:
    return Stored(
        origin=row.origin,
        seq=int(row.seq),
        record_id=row.record_id,
        kind=row.kind,
        version=int(row.version),
        issued_at=row.issued_at,
        received_at=row.received_at,
        deleted=bool(row.deleted),
        header=row.header,
        sig=row.sig,
        body=row.body,
    )


def current(session: Session, record_id: str) -> Stored | None:
    """The current version of a member or event, live or a tombstone."""
    row = session.execute(
        select(*_RECORD).where(
            RECORDS.c.record_id == record_id,
            RECORDS.c.current.is_(True),
            RECORDS.c.kind.in_(KINDS),
        )
    ).first()
    return None if row is None else _stored(row)


# --------------------------------------------------------------------------- search


@dataclass(frozen=True)
class Found:
    rows: list[tuple[int, Stored]]  # (entries.pk, version), in pk order
    more: bool
    total: int | None


def search(session: Session, s: Search, *, after: int | None) -> Found:
    """One page in ``entries.pk`` order (immutable per record, so an edit never moves a
    record across the cursor), plus the number of matches when asked."""
    where = _filters(session, s)
    rows: list[tuple[int, Stored]] = []
    more = False
    if s.count > 0:
        stmt = (
            select(ENTRIES.c.pk, *_RECORD)
            .select_from(
                ENTRIES.join(
                    RECORDS,
                    and_(RECORDS.c.origin == ENTRIES.c.origin, RECORDS.c.seq == ENTRIES.c.seq),
                )
            )
            .where(*where)
        )
        if after is not None:
            stmt = stmt.where(ENTRIES.c.pk > after)
        found = session.execute(stmt.order_by(ENTRIES.c.pk).limit(s.count + 1)).all()
        more = len(found) > s.count
        rows = [(int(r.pk), _stored(r)) for r in found[: s.count]]
    total = None
    if s.total:
        total = int(
            session.execute(select(func.count()).select_from(ENTRIES).where(*where)).scalar_one()
        )
    return Found(rows, more, total)


def _filters(session: Session, s: Search) -> list[ColumnElement[bool]]:
    e = ENTRIES.c
    where: list[ColumnElement[bool]]
    if s.resource == "Organization":
        where = [e.kind == "member"]
    else:
        # Records that have a Location (resources.has_site): a venue always has a city.
        where = [
            or_(
                and_(e.kind == "member", or_(e.city.is_not(None), e.lat.is_not(None))),
                and_(e.kind == "event", e.city.is_not(None)),
            )
        ]
    where.extend(e.record_id.in_(ids) for ids in s.ids)
    for text in s.names:
        names = [_name(text.mode, v) for v in text.values]
        if s.resource == "Location":
            venues = _venues_named(session, text)
            if venues:
                names.append(and_(e.kind == "event", e.record_id.in_(venues)))
        where.append(or_(*names))
    for text in s.countries:
        where.append(or_(*(_country(text.mode, v) for v in text.values)))
    for orgs in s.organizations:
        where.append(
            or_(
                and_(e.kind == "member", e.record_id.in_(orgs)),
                and_(e.kind == "event", e.organizer.in_(orgs)),
            )
        )
    where.extend(_date(e.updated_at, test) for test in s.updated)
    return where


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _name(mode: str, value: str) -> ColumnElement[bool]:
    """FHIR string matching on the name: by default "starts with", ignoring case and
    accents, which is what ``sort_name`` (the folded name) is for."""
    if mode == "exact":
        return _text_match(ENTRIES.c.name, "exact", value)
    return _text_match(ENTRIES.c.sort_name, mode, fold(value))


def _venue_name(session: Session) -> Any:
    """``venue.name`` of an entry's body, as text (NULL when absent)."""
    doc: Any
    if session.get_bind().dialect.name == "postgresql":
        doc = cast(ENTRIES.c.body, JSON)  # the column is text: parse it
    else:
        doc = type_coerce(ENTRIES.c.body, JSON)  # SQLite's JSON functions read text as is
    return doc["venue"]["name"].as_string()


def _venues_named(session: Session, text: Text) -> list[str]:
    """Ids of the live events whose venue's own name matches ``text``, with the rules of
    ``_name``: exact (case-sensitive, whole name), or starts with / contains after folding
    case and accents.

    The projection holds no venue name, so the name is read from the body. ``search_text``
    holds the venue name's folded words, so an event is only read when each word of a
    value occurs in it (a value's words are substrings of the folded name's words).
    """
    venue = _venue_name(session)
    e = ENTRIES.c
    stmt = select(e.record_id, venue).where(e.kind == "event", e.city.is_not(None))
    if text.mode == "exact":
        stmt = stmt.where(venue.in_(text.values))
    else:
        words = [tokens(v) for v in text.values]
        if all(words):  # a value without words (such as "-") leaves every venue possible
            stmt = stmt.where(
                or_(
                    *(
                        and_(*(e.search_text.like(f"%{_like(w)}%", escape="\\") for w in ws))
                        for ws in words
                    )
                )
            )
    wanted = [fold(v) for v in text.values]
    found = []
    for record_id, name in session.execute(stmt.where(venue.is_not(None))):
        if not isinstance(name, str):
            continue
        if text.mode == "exact":
            found.append(record_id)
        elif text.mode == "start" and any(fold(name).startswith(w) for w in wanted):
            found.append(record_id)
        elif text.mode == "contains" and any(w in fold(name) for w in wanted):
            found.append(record_id)
    return found


def _country(mode: str, value: str) -> ColumnElement[bool]:
    """Countries are stored as upper-case ISO 3166-1 alpha-2 codes."""
    return _text_match(ENTRIES.c.country, mode, value if mode == "exact" else value.upper())


def _text_match(column: Any, mode: str, value: str) -> ColumnElement[bool]:
    matched: ColumnElement[bool]
    if mode == "exact":
        matched = column == value
    else:
        pattern = _like(value) + "%"
        matched = column.like(pattern if mode == "start" else "%" + pattern, escape="\\")
    return matched


def _date(column: Any, test: DateTest) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if test.after is not None:
        parts.append(column >= test.after)
    if test.before is not None:
        parts.append(column < test.before)
    cond: ColumnElement[bool] = and_(*parts) if parts else true()
    return not_(cond) if test.outside else cond


# --------------------------------------------------------------------------- history


def history(
    session: Session,
    *,
    kinds: Sequence[str],
    since: str | None,
    after: tuple[str, str, int] | None,
    batch: int,
) -> Iterator[Stored]:
    """Current versions (live or tombstones) in receipt order, from ``after`` inclusive
    (the caller skips the parts of that row it already served), fetched ``batch`` rows at
    a time for as long as the caller keeps reading.

    Only current versions: a superseded version has no body left to show, and a harvester
    wants the state it has to reach, so an intermediate version is skipped, never lost.
    """
    key = tuple_(RECORDS.c.received_at, RECORDS.c.origin, RECORDS.c.seq)
    inclusive = True
    while True:
        stmt = select(*_RECORD).where(RECORDS.c.current.is_(True), RECORDS.c.kind.in_(kinds))
        if since is not None:
            stmt = stmt.where(RECORDS.c.received_at >= since)
        if after is not None:
            stmt = stmt.where(key >= tuple_(*after) if inclusive else key > tuple_(*after))
        rows = session.execute(
            stmt.order_by(RECORDS.c.received_at, RECORDS.c.origin, RECORDS.c.seq).limit(batch)
        ).all()
        for row in rows:
            yield _stored(row)
        if len(rows) < batch:
            return
        last = rows[-1]
        after, inclusive = (last.received_at, last.origin, int(last.seq)), False
