"""Helpers of the pages: query-parameter checks (bad input becomes an HTML 422 page, via
``InvalidInput``) and the small view models the templates read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from node.errors import InvalidInput
from schemas.instants import format_utc, parse_utc

MONTHS = (
    "January February March April May June July August September October November December"
).split()
RECORD_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


def safe_url(value: object) -> str | None:
    """Only http(s) URLs become links; anything else is shown as text."""
    if isinstance(value, str) and value.lower().startswith(("https://", "http://")):
        return value
    return None


# -- parameter checks ---------------------------------------------------------------------


def text_param(params: dict[str, str], name: str, max_length: int) -> str | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    if len(value) > max_length or "\x00" in value:
        raise InvalidInput([(name, f"at most {max_length} characters")])
    return value


def choice_param(params: dict[str, str], name: str, allowed: type[StrEnum]) -> str | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    if value not in {a.value for a in allowed}:
        raise InvalidInput([(name, f"one of {', '.join(a.value for a in allowed)}")])
    return value


def country_param(params: dict[str, str]) -> str | None:
    value = params.get("country", "").strip()
    if not value:
        return None
    if not _COUNTRY.match(value):
        raise InvalidInput([("country", "a two-letter ISO country code, e.g. NL")])
    return value.upper()


def since_param(params: dict[str, str], now: datetime) -> str:
    """``from``: the instant "upcoming" is measured from. The next-page link carries it, so
    the cursor still matches its query when the clock has moved on between two pages."""
    value = params.get("from", "").strip()
    if not value:
        # As the API and the world view count them: not over before today (UTC).
        return format_utc(now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0))
    try:
        parsed = parse_utc(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return format_utc(parsed)
    except (ValueError, OverflowError) as exc:
        raise InvalidInput([("from", "an ISO 8601 date-time, e.g. 2027-03-01T00:00:00Z")]) from exc


def query_params(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items()}


def next_link(params: dict[str, str], cursor: str | None) -> str | None:
    if cursor is None:
        return None
    kept = {k: v for k, v in params.items() if v and k != "cursor"}
    return "?" + urlencode({**kept, "cursor": cursor})


# -- events helpers -------------------------------------------------------------------------


def _local(text: str) -> str:
    dt = datetime.fromisoformat(text)
    return f"{dt.strftime('%a')} {dt.day} {MONTHS[dt.month - 1]} {dt.year}, {dt:%H:%M}"


def _utc(text: str) -> str:
    dt = parse_utc(text)
    return f"{dt.day} {MONTHS[dt.month - 1]} {dt.year}, {dt:%H:%M} UTC"


def event_view(data: dict[str, Any]) -> dict[str, Any]:
    start = datetime.fromisoformat(data["starts_at"])
    return {
        **data,
        "month": f"{MONTHS[start.month - 1]} {start.year}",
        "when_local": f"{_local(data['starts_at'])} – {_local(data['ends_at'])}",
        "when_utc": f"{_utc(data['starts_at_utc'])} – {_utc(data['ends_at_utc'])}",
    }


@dataclass
class Month:
    heading: str
    events: list[dict[str, Any]]


def by_month(events: list[dict[str, Any]]) -> list[Month]:
    months: list[Month] = []
    for event in events:
        if months and months[-1].heading == event["month"]:
            months[-1].events.append(event)
        else:
            months.append(Month(event["month"], [event]))
    return months
