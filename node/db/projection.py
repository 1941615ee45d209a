"""Project a verified record onto the searchable ``entries`` row and its tags.

Pure: from the stored header and body to column values. The projection can always be
rebuilt from ``records``, which is what makes the search index disposable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from node.db.text import fold, index_text
from schemas.event import EventBody
from schemas.member import MemberBody

UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc_text(instant: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` with a 4-digit year (strftime drops the zeros before 1000),
    so that stored instants compare correctly as text."""
    u = instant.astimezone(UTC)
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}Z"


@dataclass(frozen=True)
class Projection:
    columns: dict[str, Any]
    tags: list[tuple[str, str]]


def project(kind: str, body: dict[str, Any]) -> Projection:
    if kind == "member":
        return _member(MemberBody.model_validate(body))
    if kind == "event":
        return _event(EventBody.model_validate(body))
    raise ValueError(f"unknown record kind {kind!r}")


def _member(m: MemberBody) -> Projection:
    handles = [a.handle or "" for a in m.social]
    text = index_text(m.city, m.country, m.description, " ".join(m.topics), " ".join(handles))
    columns = {
        "name": m.name,
        "sort_name": fold(m.name)[:200],
        "name_tokens": index_text(m.name),
        "category": m.kind.value,
        "region": m.region.value,
        "country": m.country,
        "city": m.city,
        "role": m.network_role.value,
        "status": None,
        "organizer": None,
        "lat": m.latitude,
        "lon": m.longitude,
        "starts_at": None,
        "ends_at": None,
        "search_text": text,
    }
    tags = [("topic", t) for t in m.topics] + [("language", lang) for lang in m.languages]
    return Projection(columns, tags)


def _event(e: EventBody) -> Projection:
    start, end = e.utc_span()
    venue = e.venue
    text = index_text(
        e.description,
        venue.name if venue else None,
        venue.city if venue else None,
        venue.country if venue else None,
        " ".join(e.topics),
        e.kind.value,
    )
    columns = {
        "name": e.title,
        "sort_name": fold(e.title)[:200],
        "name_tokens": index_text(e.title),
        "category": e.kind.value,
        "region": e.region.value,
        "country": venue.country if venue else None,
        "city": venue.city if venue else None,
        "role": None,
        "status": e.status.value,
        "organizer": e.organizer,
        "lat": venue.latitude if venue else None,
        "lon": venue.longitude if venue else None,
        "starts_at": utc_text(start),
        "ends_at": utc_text(end),
        "search_text": text,
    }
    tags = [("topic", t) for t in e.topics]
    if e.language:
        tags.append(("language", e.language))
    return Projection(columns, tags)
