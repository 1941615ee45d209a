"""Counts of the directory: per region for the worldwide view, per kind for /node."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from node.db.tables import ENTRIES


def per_region(session: Session, *, events_ending_after: str) -> dict[tuple[str, str], int]:
    """{(kind, region): count}: every member, and the events not over before the given
    instant (the world view's "upcoming")."""
    members = session.execute(
        select(ENTRIES.c.region, func.count())
        .where(ENTRIES.c.kind == "member")
        .group_by(ENTRIES.c.region)
    ).all()
    events = session.execute(
        select(ENTRIES.c.region, func.count())
        .where(ENTRIES.c.kind == "event", ENTRIES.c.ends_at >= events_ending_after)
        .group_by(ENTRIES.c.region)
    ).all()
    counts = {("member", str(r)): int(n) for r, n in members}
    counts.update({("event", str(r)): int(n) for r, n in events})
    return counts


def per_kind(session: Session) -> dict[str, int]:
    """{kind: count} of the live directory (members and events of every region)."""
    rows = session.execute(select(ENTRIES.c.kind, func.count()).group_by(ENTRIES.c.kind)).all()
    return {str(kind): int(n) for kind, n in rows}


def own_counts(session: Session, *, origin: str) -> dict[str, int]:
    """{kind: count} of the records one origin publishes (the console's front page)."""
    rows = session.execute(
        select(ENTRIES.c.kind, func.count())
        .where(ENTRIES.c.origin == origin)
        .group_by(ENTRIES.c.kind)
    ).all()
    return {str(kind): int(n) for kind, n in rows}
