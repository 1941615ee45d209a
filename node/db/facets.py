"""What the directory holds to choose from: the topics, languages and countries in use.

The search forms offer these as suggestions (an HTML ``datalist``), so a reader picks
"patient safety" instead of guessing that ``topic=patient`` would find it; and a topic
filter that matches nothing can say which topics come closest. Counted per value from
the search projection, so only current, live entries count.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from node.db.tables import ENTRIES, TAGS

LIMIT = 300  # a datalist longer than this helps nobody


def tag_values(session: Session, *, kind: str, tag: str, limit: int = LIMIT) -> list[str]:
    """The values of ``tag`` (``topic`` or ``language``) on entries of ``kind``, the most
    used first, then alphabetically."""
    uses = func.count()
    rows = session.execute(
        select(TAGS.c.value, uses)
        .join(ENTRIES, ENTRIES.c.pk == TAGS.c.entry_pk)
        .where(ENTRIES.c.kind == kind, TAGS.c.tag == tag)
        .group_by(TAGS.c.value)
        .order_by(uses.desc(), TAGS.c.value)
        .limit(limit)
    ).all()
    return [str(r[0]) for r in rows]


def countries(session: Session, *, kind: str) -> list[str]:
    """The country codes of entries of ``kind``, alphabetically."""
    rows = session.execute(
        select(ENTRIES.c.country)
        .where(ENTRIES.c.kind == kind, ENTRIES.c.country.is_not(None))
        .distinct()
        .order_by(ENTRIES.c.country)
        .limit(LIMIT)
    ).scalars()
    return [str(c) for c in rows]
