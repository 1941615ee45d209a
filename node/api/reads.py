"""Rendering directory pages: stored bodies go out without a re-validation round trip.

The body stored for an entry is the signed, already-validated JSON. Pages are assembled as
bytes from it, which is several times cheaper than letting FastAPI re-encode dicts; the
declared response models still document the shape in OpenAPI.
"""

from __future__ import annotations

import json

from fastapi import Response
from pydantic import BaseModel, Field

from node.db import entries
from node.db.search import COUNT_CAP, Page
from node.db.session import Session
from node.entries import item
from node.errors import InvalidInput, NotFound
from schemas.event import EventPublic
from schemas.member import MemberPublic

TOTAL = "Number of matches, when `count=true` was asked (at most the cap: see `total_capped`)"
TOTAL_CAPPED = (
    f"True when more than `total` entries match: counting stops at {COUNT_CAP:,}, so that a "
    "common word costs a bounded count; `total` is then a lower bound, not the exact number"
)


class MemberPage(BaseModel):
    items: list[MemberPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )
    total: int | None = Field(description=TOTAL)
    total_capped: bool = Field(default=False, description=TOTAL_CAPPED)


class EventPage(BaseModel):
    items: list[EventPublic]
    next_cursor: str | None
    total: int | None = Field(description=TOTAL)
    total_capped: bool = Field(default=False, description=TOTAL_CAPPED)


def page_response(page: Page, kind: str) -> Response:
    payload = {
        "items": [item(r, kind) for r in page.rows],
        "next_cursor": page.next_cursor,
        "total": page.total,
        "total_capped": page.total_capped,
    }
    return Response(json.dumps(payload, ensure_ascii=False), media_type="application/json")


def one(session: Session, *, kind: str, record_id: str) -> Response:
    row = entries.one(session, kind=kind, record_id=record_id)
    if row is None:
        raise NotFound(f"no {kind} {record_id}")
    data = item(row, kind)
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


def check_limit(limit: int, maximum: int) -> int:
    if limit > maximum:
        raise InvalidInput([("query.limit", f"at most {maximum} items per page")])
    return limit
