"""Project a verified record onto the searchable ``entries`` row and its tags.

Pure: from the stored header and body to column values. The projection can always be
rebuilt from ``records``, which is what makes the search index disposable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from node.db.text import fold, index_text
from node.errors import UnknownKind
from schemas.event import Attendance, to_utc
from schemas.instants import format_utc


@dataclass(frozen=True)
class Projection:
    columns: dict[str, Any]
    tags: list[tuple[str, str]]


def project(kind: str, body: dict[str, Any]) -> Projection:
    """Search columns of a body that has already been validated (by the API, the importer
    or ingest): read as a plain dict, with the schema's defaults for fields a body omits,
    so the hot path does not run pydantic a second time."""
    if kind == "member":
        return _member(body)
    if kind == "event":
        return _event(body)
    raise UnknownKind(f"unknown record kind {kind!r}")


def _member(m: dict[str, Any]) -> Projection:
    social = m.get("social") or []
    topics: list[str] = m.get("topics") or []
    languages: list[str] = m.get("languages") or []
    handles = [a.get("handle") or "" for a in social]
    text = index_text(
        m.get("city"), m.get("country"), m.get("description"), " ".join(topics), " ".join(handles)
    )
    columns = {
        "name": m["name"],
        "sort_name": fold(m["name"])[:200],
        "name_tokens": index_text(m["name"]),
        "category": m["kind"],
        "region": m["region"],
        "country": m["country"],
        "city": m.get("city"),
        "role": m.get("network_role") or "member",
        "status": None,
        "organizer": None,
        "lat": m.get("latitude"),
        "lon": m.get("longitude"),
        "starts_at": None,
        "ends_at": None,
        "search_text": text,
    }
    tags = [("topic", t) for t in topics] + [("language", lang) for lang in languages]
    return Projection(columns, tags)


def _event(e: dict[str, Any]) -> Projection:
    venue: dict[str, Any] = e.get("venue") or {}
    topics: list[str] = e.get("topics") or []
    start = to_utc(e["starts_at"], e["timezone"])
    end = to_utc(e["ends_at"], e["timezone"])
    text = index_text(
        e.get("description"),
        venue.get("name"),
        venue.get("city"),
        venue.get("country"),
        " ".join(topics),
        e["kind"],
    )
    columns = {
        "name": e["title"],
        "sort_name": fold(e["title"])[:200],
        "name_tokens": index_text(e["title"]),
        "category": e["kind"],
        "region": e["region"],
        "country": venue.get("country"),
        "city": venue.get("city"),
        "role": None,
        "status": e.get("status") or "scheduled",
        "organizer": e.get("organizer"),
        "lat": venue.get("latitude"),
        "lon": venue.get("longitude"),
        "starts_at": format_utc(start),
        "ends_at": format_utc(end),
        "search_text": text,
    }
    tags = [("topic", t) for t in topics]
    if e.get("language"):
        tags.append(("language", e["language"]))
    tags.extend(("attendance", way) for way in attendance(e))
    return Projection(columns, tags)


def attendance(e: dict[str, Any]) -> list[str]:
    """The ways to take part in an event: online, in person, or both (a hybrid event).

    A tag per way, so ``attendance=online`` uses the same indexed lookup as a topic."""
    ways = []
    if e.get("online_url"):
        ways.append(Attendance.ONLINE.value)
    if e.get("venue"):
        ways.append(Attendance.IN_PERSON.value)
    return ways
