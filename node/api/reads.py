"""Rendering directory pages: stored bodies go out without a re-validation round trip.

The body stored for an entry is the signed, already-validated JSON. Pages are assembled as
bytes from it, which is several times cheaper than letting FastAPI re-encode dicts; the
declared response models still document the shape in OpenAPI.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import Session

from node.db.search import ROW_COLUMNS, Page, Row, to_row
from node.db.tables import ENTRIES
from node.errors import InvalidInput, NotFound
from schemas.event import EventPublic
from schemas.geo import check_language
from schemas.member import MemberPublic


class MemberPage(BaseModel):
    items: list[MemberPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )
    total: int | None = Field(description="Number of matches, when `count=true` was asked")


class EventPage(BaseModel):
    items: list[EventPublic]
    next_cursor: str | None
    total: int | None


def item(row: Row, kind: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(row.body)
    data.update(id=row.record_id, origin=row.origin, version=row.version, updated_at=row.updated_at)
    if kind == "member" and row.distance_km is not None:
        data["distance_km"] = row.distance_km
    if kind == "event":
        data.update(starts_at_utc=row.starts_at, ends_at_utc=row.ends_at)
    return data


def page_response(page: Page, kind: str) -> Response:
    payload = {
        "items": [item(r, kind) for r in page.rows],
        "next_cursor": page.next_cursor,
        "total": page.total,
    }
    return Response(json.dumps(payload, ensure_ascii=False), media_type="application/json")


def one(session: Session, *, kind: str, record_id: str) -> Response:
    row = session.execute(
        select(*ROW_COLUMNS).where(ENTRIES.c.record_id == record_id, ENTRIES.c.kind == kind)
    ).first()
    if row is None:
        raise NotFound(f"no {kind} {record_id}")
    data = item(to_row(row, None), kind)
    return Response(
        json.dumps(data, ensure_ascii=False),
        media_type="application/json",
        headers={"ETag": f'"{row.version}"'},
    )


def parse_near(near: str | None) -> tuple[float, float] | None:
    if near is None:
        return None
    try:
        lat_s, lon_s = near.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError as exc:
        raise InvalidInput([("query.near", "expected 'lat,lon', e.g. 44.02,-92.47")]) from exc
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput([("query.near", "latitude in -90..90, longitude in -180..180")])
    return lat, lon


def normal_language(tag: str | None) -> str | None:
    """Filters compare with stored tags, which are normalised BCP 47 (``pt-BR``). A tag that
    is not valid cannot match anything stored, so it is used as given (no results)."""
    if tag is None:
        return None
    try:
        return check_language(tag)
    except ValueError:
        return tag


def check_limit(limit: int, maximum: int) -> int:
    if limit > maximum:
        raise InvalidInput([("query.limit", f"at most {maximum} items per page")])
    return limit
