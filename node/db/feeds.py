"""Reads behind the iCalendar feeds (node/api/calendar.py): the window of events a feed
holds, and the per-origin sequence state its validator is built from.

The feed is bounded (``limit`` events), so the window is two bounded, index-ordered reads
rather than a sort of every match.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, select
from sqlmodel import Session

from node.db.search import ROW_COLUMNS, Row, to_row
from node.db.tables import ENTRIES, SEQUENCES, TAGS
from schemas.instants import format_utc


def sequences(session: Session) -> list[tuple[str, int]]:
    """(origin, last seq) of every origin, in origin order: one small read (a row per
    node) that changes whenever anything this node holds changes."""
    rows = session.execute(
        select(SEQUENCES.c.origin, SEQUENCES.c.last_seq).order_by(SEQUENCES.c.origin)
    ).all()
    return [(str(origin), int(seq)) for origin, seq in rows]


def window(
    session: Session,
    *,
    region: str | None,
    organizer: str | None,
    category: str | None,
    topic: str | None,
    today: date,
    limit: int,
    history_days: int,
) -> list[Row]:
    """A feed's events, by start. Events not over before today come first (nearest
    first), then, while there is room, past events of the last ``history_days`` (latest
    first), so a full feed drops old history and far-future events, never the next ones.
    ``topic`` is compared as stored (lower case)."""
    where = _where(region=region, organizer=organizer, category=category, topic=topic)
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)
    upcoming = session.execute(
        select(*ROW_COLUMNS)
        .where(*where, ENTRIES.c.ends_at >= format_utc(midnight))
        .order_by(ENTRIES.c.starts_at, ENTRIES.c.pk)
        .limit(limit)
    ).all()
    room = limit - len(upcoming)
    past: list[Any] = []
    if room > 0:
        since = format_utc(midnight - timedelta(days=history_days))
        past = list(
            session.execute(
                select(*ROW_COLUMNS)
                .where(*where, ENTRIES.c.ends_at >= since, ENTRIES.c.ends_at < format_utc(midnight))
                .order_by(ENTRIES.c.starts_at.desc(), ENTRIES.c.pk.desc())
                .limit(room)
            ).all()
        )
    rows = sorted([*past, *upcoming], key=lambda r: (r.starts_at, r.pk))
    return [to_row(r, None) for r in rows]


def _where(
    *, region: str | None, organizer: str | None, category: str | None, topic: str | None
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [ENTRIES.c.kind == "event"]
    if region is not None:
        where.append(ENTRIES.c.region == region)
    if organizer is not None:
        where.append(ENTRIES.c.organizer == organizer)
    if category is not None:
        where.append(ENTRIES.c.category == category)
    if topic is not None:
        where.append(
            exists().where(
                and_(
                    TAGS.c.entry_pk == ENTRIES.c.pk,
                    TAGS.c.tag == "topic",
                    TAGS.c.value == topic,
                )
            )
        )
    return where
