"""Helpers for the calendar tests: events written through the admin API, feeds fetched and
parsed with ``icalendar``, and a reading of VTIMEZONE written from RFC 5545 that does not
use the feed builder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from icalendar import Calendar, Event, Timezone

from .factories import event_body
from .nodes import Node

SITE = "http://127.0.0.1:8101"  # the test node's public URL


def add(node: Node, **fields: Any) -> str:
    r = node.client.post("/admin/events", json=event_body(**fields), headers=node.editor)
    assert r.status_code == 201, r.text
    eid: str = r.json()["id"]
    return eid


def online(**fields: Any) -> dict[str, Any]:
    return {"venue": None, "online_url": "https://example.org/live", **fields}


def get_feed(node: Node, path: str = "/events.ics", **params: Any) -> httpx.Response:
    r = node.client.get(path, params=params)
    assert r.status_code == 200, r.text
    return r


def parse(r: httpx.Response) -> Calendar:
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(r.content)


def vevents(cal: Calendar) -> list[Event]:
    return list(cal.walk("VEVENT"))


def uids(cal: Calendar) -> list[str]:
    return [str(e["UID"]) for e in vevents(cal)]


# A reading of VTIMEZONE written from RFC 5545 3.6.5, independent of the builder: each
# observance's DTSTART and RDATEs are local times in its TZOFFSETFROM.


def transitions(vtz: Timezone) -> list[tuple[datetime, timedelta, timedelta]]:
    out = []
    for sub in vtz.subcomponents:
        before, after = sub.decoded("TZOFFSETFROM"), sub.decoded("TZOFFSETTO")
        onsets = [sub.decoded("DTSTART"), *(d for d, _ in sub.rdates)]
        for local in onsets:
            assert local.tzinfo is None
            out.append(((local - before).replace(tzinfo=UTC), before, after))
    return sorted(out, key=lambda t: t[0])


def offset_at(table: list[tuple[datetime, timedelta, timedelta]], instant: datetime) -> timedelta:
    current = None
    for onset, _, after in table:
        if onset <= instant:
            current = after
    assert current is not None, f"{instant} is before the VTIMEZONE's first onset"
    return current


def local_to_utc(table: list[tuple[datetime, timedelta, timedelta]], local: datetime) -> datetime:
    """The instant of a wall-clock time under a VTIMEZONE; a repeated time is its first
    occurrence (RFC 5545 3.3.5)."""
    offsets = {after for _, _, after in table}
    valid = [
        (local - o).replace(tzinfo=UTC)
        for o in offsets
        if offset_at(table, (local - o).replace(tzinfo=UTC)) == o
    ]
    assert valid, f"{local} does not exist under this VTIMEZONE"
    return min(valid)


def check_timezones(cal: Calendar) -> dict[str, list[tuple[datetime, timedelta, timedelta]]]:
    """Every TZID used has exactly one VTIMEZONE, and every onset in it is a real change
    of that IANA zone at that instant."""
    zones = {str(tz["TZID"]): tz for tz in cal.walk("VTIMEZONE")}
    assert len(zones) == len(cal.walk("VTIMEZONE"))
    used = {
        e[name].params["TZID"]
        for e in vevents(cal)
        for name in ("DTSTART", "DTEND")
        if "TZID" in e[name].params
    }
    assert used == set(zones), (used, set(zones))
    tables = {}
    for tzid, vtz in zones.items():
        table = transitions(vtz)
        zone = ZoneInfo(tzid)
        for onset, before, after in table[1:]:
            assert (onset - timedelta(seconds=1)).astimezone(zone).utcoffset() == before, onset
            assert onset.astimezone(zone).utcoffset() == after, onset
        tables[tzid] = table
    return tables
