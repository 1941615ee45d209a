"""iCalendar feeds: GET /events.ics and its per-region and per-member forms.

Every feed is parsed on its own with ``icalendar`` and compared with what the JSON API says
about the same events (``GET /events?from=…``), never with the builder's internals. Time
zones are checked twice: against zoneinfo, and by reading each event's local time through
the feed's own VTIMEZONE with a small RFC 5545 interpreter written here. The test clock
starts at 2026-11-24T12:00Z, so the feed's history window starts at 2025-11-24T00:00Z.
"""

from __future__ import annotations

import ast
import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar, Event, Timezone
from support.clock import Clock
from support.factories import add_member, event_body
from support.fedkit import Federation
from support.nodes import Node
from support.problems import assert_problem

from node.api import calendar as calendar_api
from schemas.event import EventKind
from schemas.geo import Region

WINDOW_START = "2025-11-24"  # the clock's day minus 365 days
SITE = "http://127.0.0.1:8101"  # the test node's public URL
ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- helpers


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


def api(node: Node, **params: Any) -> list[dict[str, Any]]:
    """What the JSON API lists for the same filters over the feed's window."""
    r = node.client.get("/events", params={"from": WINDOW_START, "limit": 200, **params})
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["items"]
    return found


def api_uids(node: Node, **params: Any) -> list[str]:
    return [f"{e['id']}@healthnet" for e in api(node, **params)]


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
        e[name].params["TZID"] for e in vevents(cal) for name in ("DTSTART", "DTEND")
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


# --------------------------------------------------------------------------- the feed


def test_feed_round_trips_the_api_events(node: Node) -> None:
    org = add_member(node, name="Radboud University Nijmegen Medical Centre")
    venue = {"name": "Radboud Auditorium", "city": "Nijmegen", "country": "NL",
             "latitude": 51.8426, "longitude": 5.8528}
    conf = add(node, title="Health Social Media Day, Europe; 2027", venue=venue,
               organizer=org, topics=["social media", "innovation"],
               registration_url="https://example.org/register",
               description="Talks, posters\nand a dinner.")
    webinar = add(node, **online(title="Patients Online", kind="webinar",
                                 timezone="America/New_York", starts_at="2027-01-05T15:00",
                                 ends_at="2027-01-05T16:30", topics=[]))
    plain = add(node, title="No Links Meetup", kind="meetup",
                venue={"city": "Utrecht", "country": "NL"}, topics=[])
    cancelled = add(node, title="Called Off Workshop", kind="workshop", status="cancelled",
                    starts_at="2027-02-01T10:00", ends_at="2027-02-01T12:00")
    # the morning clocks go forward in Amsterdam (02:00 -> 03:00): 03:30 is 01:30Z
    spring = add(node, title="Spring Forward Run", starts_at="2027-03-28T03:30",
                 ends_at="2027-03-28T05:00")
    # the night clocks go back in New York: 01:30 happens twice; the first one is 05:30Z
    autumn = add(node, **online(title="Fall Back Hackathon", timezone="America/New_York",
                                starts_at="2027-11-07T01:30", ends_at="2027-11-07T03:00"))
    past = add(node, title="Summer Forum", starts_at="2026-06-01T09:00",
               ends_at="2026-06-01T17:00")
    add(node, title="Too Old Forum", starts_at="2025-10-01T09:00", ends_at="2025-10-01T17:00")

    r = get_feed(node)
    assert r.headers["cache-control"] == "public, max-age=300"
    assert r.headers["content-disposition"] == 'inline; filename="events.ics"'
    assert r.headers["etag"].startswith('W/"')
    cal = parse(r)
    assert str(cal["VERSION"]) == "2.0" and "healthnet" in str(cal["PRODID"])
    assert str(cal["X-WR-CALNAME"]) == "Events (Radboud UMC)"
    assert str(cal["SOURCE"]) == f"{SITE}/events.ics"

    listed = api(node)
    assert {e["title"] for e in listed} >= {"Summer Forum"}
    assert "Too Old Forum" not in {e["title"] for e in listed}  # ended before the window
    assert len(listed) == 7
    # the same events, in the same order (by start)
    assert uids(cal) == [f"{e['id']}@healthnet" for e in listed]
    tables = check_timezones(cal)
    assert set(tables) == {"Europe/Amsterdam", "America/New_York"}

    for e, ev in zip(listed, vevents(cal), strict=True):
        assert str(ev["SUMMARY"]) == e["title"]
        start, end = ev.decoded("DTSTART"), ev.decoded("DTEND")
        assert (iso(start), iso(end)) == (e["starts_at_utc"], e["ends_at_utc"])
        assert ev["DTSTART"].params["TZID"] == e["timezone"]
        # the local time, read through the feed's own VTIMEZONE, is the same instant
        table = tables[e["timezone"]]
        assert iso(local_to_utc(table, start.replace(tzinfo=None))) == e["starts_at_utc"]
        assert iso(local_to_utc(table, end.replace(tzinfo=None))) == e["ends_at_utc"]
        assert ev.decoded("SEQUENCE") == e["version"] == 1
        assert iso(ev.decoded("DTSTAMP")) == iso(ev.decoded("LAST-MODIFIED"))
        assert iso(ev.decoded("LAST-MODIFIED")) == e["updated_at"]
        assert ev.categories == e["topics"]
        status = "CANCELLED" if e["status"] == "cancelled" else "CONFIRMED"
        assert str(ev["STATUS"]) == status
        assert str(ev["URL"]) == (
            e.get("registration_url") or e.get("online_url") or f"{SITE}/e/{e['id']}"
        )
        assert f"{SITE}/e/{e['id']}" in str(ev["DESCRIPTION"])

    by_uid = {str(ev["UID"]).split("@")[0]: ev for ev in vevents(cal)}
    c = by_uid[conf]
    assert str(c["SUMMARY"]) == "Health Social Media Day, Europe; 2027"  # escaping survives
    assert str(c["LOCATION"]) == "Radboud Auditorium, Nijmegen, Netherlands"
    assert c["GEO"].latitude == 51.8426 and c["GEO"].longitude == 5.8528
    assert str(c["URL"]) == "https://example.org/register"
    description = str(c["DESCRIPTION"])
    assert description.startswith("Talks, posters\nand a dinner.")
    assert "Organized by Radboud University Nijmegen Medical Centre" in description
    w = by_uid[webinar]
    assert str(w["LOCATION"]) == "Online" and "GEO" not in w
    assert str(w["URL"]) == "https://example.org/live"
    assert str(w["CONFERENCE"]) == "https://example.org/live"
    assert str(by_uid[plain]["LOCATION"]) == "Utrecht, Netherlands"
    assert str(by_uid[plain]["URL"]) == f"{SITE}/e/{plain}"
    assert "GEO" not in by_uid[plain]
    assert str(by_uid[cancelled]["STATUS"]) == "CANCELLED"
    assert iso(by_uid[spring].decoded("DTSTART")) == "2027-03-28T01:30:00Z"
    assert iso(by_uid[autumn].decoded("DTSTART")) == "2027-11-07T05:30:00Z"
    assert past in by_uid


def test_uid_is_stable_sequence_follows_versions_cancel_and_delete(node: Node) -> None:
    eid = add(node, title="Evolving Summit")
    other = add(node, title="Steady Meetup", kind="meetup", starts_at="2027-04-01T18:00",
                ends_at="2027-04-01T20:00")

    def current() -> dict[str, Event]:
        return {str(e["UID"]): e for e in vevents(parse(get_feed(node)))}

    first = current()[f"{eid}@healthnet"]
    assert first.decoded("SEQUENCE") == 1 and str(first["STATUS"]) == "CONFIRMED"

    r = node.client.put(f"/admin/events/{eid}", headers=node.editor,
                        json=event_body(title="Evolving Summit (moved)",
                                        starts_at="2027-03-11T09:00", ends_at="2027-03-11T17:00"))
    assert r.status_code == 200, r.text
    moved = current()[f"{eid}@healthnet"]
    assert moved.decoded("SEQUENCE") == 2 == node.client.get(f"/events/{eid}").json()["version"]
    assert str(moved["SUMMARY"]) == "Evolving Summit (moved)"
    assert iso(moved.decoded("DTSTART")) == "2027-03-11T08:00:00Z"
    assert moved.decoded("LAST-MODIFIED") >= first.decoded("LAST-MODIFIED")

    r = node.client.put(f"/admin/events/{eid}", headers=node.editor,
                        json=event_body(title="Evolving Summit (moved)", status="cancelled",
                                        starts_at="2027-03-11T09:00", ends_at="2027-03-11T17:00"))
    assert r.status_code == 200, r.text
    called_off = current()[f"{eid}@healthnet"]
    assert called_off.decoded("SEQUENCE") == 3
    assert str(called_off["STATUS"]) == "CANCELLED"
    assert "CANCELLED" in str(called_off["DESCRIPTION"])
    assert current()[f"{other}@healthnet"].decoded("SEQUENCE") == 1  # untouched

    assert node.client.delete(f"/admin/events/{eid}", headers=node.editor).status_code == 200
    assert list(current()) == [f"{other}@healthnet"]


def test_filters_select_the_same_events_as_the_api(node: Node) -> None:
    a = add_member(node, name="Alpha Hospital")
    b = add_member(node, name="Beta Clinic")
    add(node, title="Alpha Conference", organizer=a, topics=["innovation"])
    add(node, title="Alpha Webinar", organizer=a, topics=["patient engagement"],
        **online(kind="webinar", starts_at="2027-01-10T10:00", ends_at="2027-01-10T11:00"))
    add(node, title="Beta Webinar", organizer=b, topics=["patient engagement", "innovation"],
        **online(kind="webinar", starts_at="2027-02-10T10:00", ends_at="2027-02-10T11:00"))
    add(node, title="Free Workshop", kind="workshop", topics=["innovation"],
        starts_at="2026-12-01T10:00", ends_at="2026-12-01T12:00")

    def titles(cal: Calendar) -> list[str]:
        return [str(e["SUMMARY"]) for e in vevents(cal)]

    cases: list[dict[str, str]] = [
        {},
        {"organizer": a},
        {"organizer": b},
        {"topic": "innovation"},
        {"topic": "patient engagement"},
        {"kind": "webinar"},
        {"topic": "innovation", "organizer": a},
        {"topic": "patient engagement", "kind": "webinar", "region": "europe"},
        {"region": "europe"},
        {"region": "asia"},
        {"topic": "nothing-tagged"},
    ]
    for params in cases:
        cal = parse(get_feed(node, **params))
        assert uids(cal) == api_uids(node, **params), params

    assert titles(parse(get_feed(node, organizer=a))) == ["Alpha Webinar", "Alpha Conference"]
    assert titles(parse(get_feed(node, topic="Innovation"))) == [  # topics fold to lower case
        "Free Workshop", "Beta Webinar", "Alpha Conference"]
    assert titles(parse(get_feed(node, region="asia"))) == []  # a valid, empty calendar
    cal = parse(get_feed(node, organizer=a, kind="webinar"))
    assert str(cal["X-WR-CALNAME"]) == "Webinars by Alpha Hospital (Radboud UMC)"
    assert titles(cal) == ["Alpha Webinar"]
    cal = parse(get_feed(node, topic="innovation", region="europe"))
    assert str(cal["X-WR-CALNAME"]) == "Events on innovation in Europe (Radboud UMC)"

    # the readable path forms are the same feeds, byte for byte
    by_member = get_feed(node, f"/members/{a}/events.ics")
    assert by_member.content == get_feed(node, organizer=a).content
    assert by_member.headers["etag"] == get_feed(node, organizer=a).headers["etag"]
    assert get_feed(node, f"/members/{a}/events.ics", kind="webinar").content == (
        get_feed(node, organizer=a, kind="webinar").content)
    by_region = get_feed(node, "/regions/europe/events.ics", topic="innovation")
    assert by_region.content == get_feed(node, region="europe", topic="innovation").content
    assert by_region.headers["content-disposition"] == (
        'inline; filename="events-europe-innovation.ics"')


def test_window_keeps_a_year_of_history_then_events_leave_the_feed(
    node: Node, clock: Clock
) -> None:
    # A subscribed calendar mirrors the feed: what leaves the window leaves it too.
    add(node, title="Last Summer", starts_at="2026-06-01T09:00", ends_at="2026-06-01T17:00")
    add(node, title="Next Spring", starts_at="2027-03-10T09:00", ends_at="2027-03-10T17:00")
    assert [str(e["SUMMARY"]) for e in vevents(parse(get_feed(node)))] == [
        "Last Summer", "Next Spring"]
    clock.advance(days=366)  # 2027-11-25: Last Summer ended more than 365 days ago
    assert [str(e["SUMMARY"]) for e in vevents(parse(get_feed(node)))] == ["Next Spring"]
    clock.advance(days=365)
    assert vevents(parse(get_feed(node))) == []


def test_events_far_from_today_are_written_in_utc(node: Node) -> None:
    # more than 30 years ahead: UTC, so no VTIMEZONE has to span decades
    far = add(node, title="Far Future Congress", starts_at="2060-05-10T09:00",
              ends_at="2060-05-10T17:00")
    near = add(node, title="Near Conference")
    cal = parse(get_feed(node))
    by_uid = {str(e["UID"]): e for e in vevents(cal)}
    start = by_uid[f"{far}@healthnet"]["DTSTART"]
    assert "TZID" not in start.params
    assert iso(start.dt) == node.client.get(f"/events/{far}").json()["starts_at_utc"]
    assert by_uid[f"{near}@healthnet"]["DTSTART"].params["TZID"] == "Europe/Amsterdam"
    (vtz,) = cal.walk("VTIMEZONE")
    assert max(t[0] for t in transitions(vtz)).year == 2027  # only the years in use
    check_timezones(cal)


def test_a_full_feed_keeps_upcoming_events_before_old_history(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    for month in (2, 4, 6):  # three past events (2026)
        add(node, title=f"Past {month}", starts_at=f"2026-0{month}-01T09:00",
            ends_at=f"2026-0{month}-01T17:00")
    for month in (1, 2, 3):  # three upcoming ones (2027)
        add(node, title=f"Next {month}", starts_at=f"2027-0{month}-01T09:00",
            ends_at=f"2027-0{month}-01T17:00")

    def titles() -> list[str]:
        return [str(e["SUMMARY"]) for e in vevents(parse(get_feed(node)))]

    assert titles() == ["Past 2", "Past 4", "Past 6", "Next 1", "Next 2", "Next 3"]
    monkeypatch.setattr(calendar_api, "MAX_FEED_EVENTS", 4)
    assert titles() == ["Past 6", "Next 1", "Next 2", "Next 3"]  # the latest past one
    monkeypatch.setattr(calendar_api, "MAX_FEED_EVENTS", 2)
    assert titles() == ["Next 1", "Next 2"]  # the nearest upcoming ones


# --------------------------------------------------------------------------- caching


def test_etag_answers_304_without_building_and_changes_with_writes_and_days(
    node: Node, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(node, title="Cached Conference")
    first = get_feed(node)
    etag = first.headers["etag"]
    assert get_feed(node).content == first.content  # same data, same day: same bytes
    assert get_feed(node).headers["etag"] == etag

    def not_built(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("a matching If-None-Match must not build the feed")

    monkeypatch.setattr(calendar_api, "build_calendar", not_built)
    strong = etag.removeprefix("W/")
    for header in (etag, strong, f'"nope", {etag}', f'W/"a,b", {strong}', "*"):
        r = node.client.get("/events.ics", headers={"If-None-Match": header})
        assert r.status_code == 304, header
        assert r.content == b""
        assert r.headers["etag"] == etag
        assert r.headers["cache-control"] == "public, max-age=300"
    # a client that polls without a validator gets the feed built earlier, not a rebuild
    r = node.client.get("/events.ics", headers={"If-None-Match": '"nope", W/"other"'})
    assert r.status_code == 200 and r.content == first.content
    assert get_feed(node).content == first.content
    monkeypatch.undo()

    # another feed of the same data has its own validator
    assert get_feed(node, kind="webinar").headers["etag"] != etag
    assert get_feed(node, region="europe").headers["etag"] != etag

    # any write changes it, even one this feed does not show (cheap and safe)
    add_member(node, name="Unrelated Member")
    r = node.client.get("/events.ics", headers={"If-None-Match": etag})
    assert r.status_code == 200
    etag2 = r.headers["etag"]
    assert etag2 != etag
    assert node.client.get("/events.ics", headers={"If-None-Match": etag2}).status_code == 304

    # the window moves at midnight UTC: a new day is a new validator
    clock.advance(hours=11)  # 23:00Z, the same day
    assert node.client.get("/events.ics", headers={"If-None-Match": etag2}).status_code == 304
    clock.advance(hours=2)  # 01:00Z the next day
    r = node.client.get("/events.ics", headers={"If-None-Match": etag2})
    assert r.status_code == 200 and r.headers["etag"] != etag2


def test_head_answers_with_the_get_headers_and_no_body(node: Node) -> None:
    mid = add_member(node, name="Probed Member")
    add(node, title="Probed Conference", organizer=mid, topics=["innovation"])
    for path, params in (
        ("/events.ics", {}),
        ("/events.ics", {"region": "europe", "topic": "Innovation"}),
        ("/regions/europe/events.ics", {"kind": "conference"}),
        (f"/members/{mid}/events.ics", {}),
    ):
        got = get_feed(node, path, **params)
        head = node.client.head(path, params=params)
        assert head.status_code == 200, (path, head.text)
        assert head.content == b""
        for name in ("etag", "content-type", "cache-control", "content-disposition"):
            assert head.headers[name] == got.headers[name], (path, name)
        assert head.headers["content-length"] == str(len(got.content))
        r = node.client.head(path, params=params, headers={"If-None-Match": got.headers["etag"]})
        assert r.status_code == 304 and r.content == b"", path
        assert r.headers["etag"] == got.headers["etag"]
        assert r.headers["cache-control"] == "public, max-age=300"
    # the same errors as GET
    assert node.client.head("/regions/mars/events.ics").status_code == 422
    assert node.client.head(f"/members/{uuid.uuid4()}/events.ics").status_code == 404
    assert node.client.post("/events.ics").status_code == 405


def test_head_is_documented_with_its_own_operation_ids(node: Node) -> None:
    spec = node.client.get("/openapi.json").json()
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    for path in ("/events.ics", "/regions/{region}/events.ics", "/members/{member_id}/events.ics"):
        ops = spec["paths"][path]
        assert set(ops) == {"get", "head"}, path
        assert ops["head"]["parameters"] == ops["get"]["parameters"], path


def test_the_built_feed_cache_is_bounded_by_bytes_lru() -> None:
    cache = calendar_api.BuiltFeeds(100)
    cache.put("a", b"x" * 40)
    cache.put("b", b"x" * 40)
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("c", b"x" * 40)  # 120 > 100: the least recently used (b) goes
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
    assert (len(cache), cache.size) == (2, 80)
    cache.put("c", b"x" * 10)  # replacing counts the new size only
    assert cache.size == 50
    cache.put("huge", b"x" * 101)  # larger than the whole budget: not kept, nothing evicted
    assert cache.get("huge") is None and (len(cache), cache.size) == (2, 50)
    cache.put("d", b"x" * 100)  # exactly the budget: kept alone
    assert (len(cache), cache.size) == (1, 100) and cache.get("d") is not None


def test_every_region_and_kind_feed_stays_built(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cycling the ~35 region x kind feeds (more than a count-bounded cache of 16 held)
    rebuilds nothing while the data does not change."""
    add(node, title="Cached Conference")
    add(node, title="Cached Webinar", **online(kind="webinar"))
    combos = [
        {k: v for k, v in (("region", region), ("kind", kind)) if v is not None}
        for region in (None, *(r.value for r in Region))
        for kind in (None, *(k.value for k in EventKind))
    ]
    assert len(combos) == 35
    first = {str(params): get_feed(node, **params).content for params in combos}

    def not_built(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("an unchanged feed must come from the cache")

    monkeypatch.setattr(calendar_api, "build_calendar", not_built)
    for params in combos:
        assert get_feed(node, **params).content == first[str(params)], params
    cache = node.app.state.calendar_feeds
    assert len(cache) == 35 and cache.size == sum(len(b) for b in first.values())
    assert cache.size < calendar_api.BUILT_FEEDS_BYTES


# --------------------------------------------------------------------------- errors, routing


def test_bad_parameters_are_422_and_an_unknown_organizer_is_404(node: Node) -> None:
    c = node.client
    assert_problem(c.get("/events.ics", params={"region": "mars"}), 422, "query.region")
    assert_problem(c.get("/events.ics", params={"kind": "party"}), 422, "query.kind")
    assert_problem(c.get("/events.ics", params={"topic": "x" * 61}), 422, "query.topic")
    assert_problem(c.get("/events.ics", params={"topic": "<b>hi</b>"}), 422, "query.topic")
    assert_problem(c.get("/events.ics", params={"organizer": "not-an-id"}), 422,
                   "query.organizer")
    assert_problem(c.get("/regions/mars/events.ics"), 422, "path.region")
    assert_problem(c.get("/members/not-an-id/events.ics"), 422, "path.member_id")
    nobody = str(uuid.uuid4())
    assert_problem(c.get("/events.ics", params={"organizer": nobody}), 404)
    assert_problem(c.get(f"/members/{nobody}/events.ics"), 404)
    # even "If-None-Match: *" does not make a feed of an unknown member exist
    r = c.get(f"/members/{nobody}/events.ics", headers={"If-None-Match": "*"})
    assert_problem(r, 404)
    # an event id is not a member
    eid = add(node, title="Not A Member")
    assert_problem(c.get("/events.ics", params={"organizer": eid}), 404)


def test_hostile_text_stays_inside_its_property(node: Node) -> None:
    mid = add_member(node, name="Evil\nBEGIN:VEVENT\nUID:x@evil")
    title = "Line one\r\nEND:VCALENDAR\x0b;, \\ done"
    eid = add(node, title=title, organizer=mid, description="a\x01b\nUID:y@evil")
    r = get_feed(node, organizer=mid)
    cal = parse(r)
    assert uids(cal) == [f"{eid}@healthnet"]
    ev = vevents(cal)[0]
    assert str(ev["SUMMARY"]) == "Line one\nEND:VCALENDAR;, \\ done"  # no control chars
    assert str(ev["DESCRIPTION"]).startswith("ab\nUID:y@evil\n")
    # icalendar leaves NAME and X- properties escaped when parsing: the raw line is the proof
    lines = r.content.replace(b"\r\n ", b"").split(b"\r\n")  # unfolded
    for prop in (b"NAME", b"X-WR-CALNAME"):
        assert prop + b":Events by Evil\\nBEGIN:VEVENT\\nUID:x@evil (Radboud UMC)" in lines
    assert lines.count(b"BEGIN:VEVENT") == 1 and lines.count(b"END:VCALENDAR") == 1


def test_feed_routes_do_not_collide_with_the_json_routes(node: Node) -> None:
    eid = add(node, title="Routing Check")
    mid = add_member(node, name="Routing Member")
    assert node.client.get("/events.ics").headers["content-type"].startswith("text/calendar")
    assert node.client.get(f"/events/{eid}").json()["title"] == "Routing Check"
    assert node.client.get("/events").json()["items"][0]["id"] == eid
    assert node.client.get(f"/members/{mid}").json()["name"] == "Routing Member"
    assert node.client.get(f"/members/{mid}/events.ics").status_code == 200
    # /events/{id} only takes record ids: "events.ics" under it is not an event
    assert node.client.get("/events/events.ics").status_code == 422


# --------------------------------------------------------------------------- pages


def test_pages_link_to_their_feeds(node: Node) -> None:
    mid = add_member(node, name="Linked Member")
    add(node, title="Linked Webinar", organizer=mid,
        **online(kind="webinar", starts_at="2027-01-10T10:00", ends_at="2027-01-10T11:00"))
    page = node.client.get("/e", params={"region": "europe", "kind": "webinar"}).text
    assert 'href="webcal://127.0.0.1:8101/events.ics?region=europe&amp;kind=webinar"' in page
    assert f'href="{SITE}/events.ics?region=europe&amp;kind=webinar"' in page
    assert 'href="webcal://127.0.0.1:8101/events.ics"' in node.client.get("/e").text
    member = node.client.get(f"/m/{mid}").text
    assert f'href="webcal://127.0.0.1:8101/events.ics?organizer={mid}"' in member
    # the linked feeds are real and hold what the pages show
    cal = parse(get_feed(node, region="europe", kind="webinar"))
    assert [str(e["SUMMARY"]) for e in vevents(cal)] == ["Linked Webinar"]
    cal = parse(get_feed(node, organizer=mid))
    assert [str(e["SUMMARY"]) for e in vevents(cal)] == ["Linked Webinar"]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_pages_do_not_import_the_feed_router_and_the_builder_stays_pure() -> None:
    for path in sorted((ROOT / "node" / "web").glob("*.py")):
        assert "node.api.calendar" not in imported_modules(path), path
    builder = imported_modules(ROOT / "node" / "feeds" / "calendar.py")
    assert not {m for m in builder if m.split(".")[0] in {"fastapi", "sqlalchemy", "sqlmodel"}}
    assert not {m for m in builder if m.startswith("node.")}


# --------------------------------------------------------------------------- federation


def test_uids_are_the_same_on_every_node_and_regions_filter_by_record(
    tmp_path: Path, clock: Clock
) -> None:
    async def scenario() -> None:
        fed = Federation(tmp_path, clock, lambda host: f"sqlite:///{tmp_path}/{host}.db")
        hub = fed.add("hub", Region.NORTH_AMERICA, hub=True, name="Mayo Clinic")
        eu = fed.add("europe", Region.EUROPE, name="Radboud UMC")
        for n in (hub, eu):
            n.settings.nudge = False
        try:
            await fed.converge()
            made = {}
            for n, body in (
                (hub, event_body(title="Rochester Summit", region="north-america",
                                 timezone="America/Chicago",
                                 venue={"city": "Rochester", "country": "US"})),
                (eu, event_body(title="Nijmegen Day")),
            ):
                async with n.client() as client:
                    r = await client.post("/admin/events", json=body, headers=n.editor)
                    assert r.status_code == 201, r.text
                    made[r.json()["id"]] = body["title"]
            async with eu.client() as client:
                before = (await client.get("/events.ics")).headers["etag"]
            await fed.converge()

            feeds: dict[str, dict[str, str]] = {}
            for n in (hub, eu):
                async with n.client() as client:
                    r = await client.get("/events.ics")
                    assert r.status_code == 200
                    cal = Calendar.from_ical(r.content)
                    feeds[n.host] = {str(e["UID"]): str(e["SUMMARY"]) for e in vevents(cal)}
                    na = Calendar.from_ical((await client.get(
                        "/regions/north-america/events.ics")).content)
                    assert [str(e["SUMMARY"]) for e in vevents(na)] == ["Rochester Summit"]
                    check_timezones(na)
                    if n is eu:
                        assert r.headers["etag"] != before  # the pull changed the feed
            expected = {f"{eid}@healthnet": title for eid, title in made.items()}
            assert feeds["hub.test"] == feeds["europe.test"] == expected
        finally:
            await fed.close()

    asyncio.run(scenario())
