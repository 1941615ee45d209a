"""iCalendar feeds: what GET /events.ics and its per-region and per-member forms hold
(caching, HEAD, errors, routing, pages and federation: test_calendar_serving).

Every feed is parsed on its own with ``icalendar`` and compared with what the JSON API says
about the same events (``GET /events?from=…``), never with the builder's internals. Time
zones are checked twice: against zoneinfo, and by reading each event's local time through
the feed's own VTIMEZONE with a small RFC 5545 interpreter (tests/support/calendars.py).
The test clock starts at 2026-11-24T12:00Z, so the feed's history window starts at
2025-11-24T00:00Z.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from icalendar import Calendar, Event
from support.calendars import (
    SITE,
    add,
    check_timezones,
    get_feed,
    local_to_utc,
    online,
    parse,
    transitions,
    uids,
    vevents,
)
from support.clock import Clock
from support.factories import add_member, event_body
from support.nodes import Node

from node.api import calendar as calendar_api

WINDOW_START = "2025-11-24"  # the clock's day minus 365 days


# --------------------------------------------------------------------------- helpers


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


# --------------------------------------------------------------------------- the feed


def test_feed_round_trips_the_api_events(node: Node) -> None:
    org = add_member(node, name="Radboud University Nijmegen Medical Centre")
    venue = {
        "name": "Radboud Auditorium",
        "city": "Nijmegen",
        "country": "NL",
        "latitude": 51.8426,
        "longitude": 5.8528,
    }
    conf = add(
        node,
        title="Health Social Media Day, Europe; 2027",
        venue=venue,
        organizer=org,
        topics=["social media", "innovation"],
        registration_url="https://example.org/register",
        description="Talks, posters\nand a dinner.",
    )
    webinar = add(
        node,
        **online(
            title="Patients Online",
            kind="webinar",
            timezone="America/New_York",
            starts_at="2027-01-05T15:00",
            ends_at="2027-01-05T16:30",
            topics=[],
        ),
    )
    plain = add(
        node,
        title="No Links Meetup",
        kind="meetup",
        venue={"city": "Utrecht", "country": "NL"},
        topics=[],
    )
    cancelled = add(
        node,
        title="Called Off Workshop",
        kind="workshop",
        status="cancelled",
        starts_at="2027-02-01T10:00",
        ends_at="2027-02-01T12:00",
    )
    # the morning clocks go forward in Amsterdam (02:00 -> 03:00): 03:30 is 01:30Z
    spring = add(
        node, title="Spring Forward Run", starts_at="2027-03-28T03:30", ends_at="2027-03-28T05:00"
    )
    # the night clocks go back in New York: 01:30 happens twice; the first one is 05:30Z
    autumn = add(
        node,
        **online(
            title="Fall Back Hackathon",
            timezone="America/New_York",
            starts_at="2027-11-07T01:30",
            ends_at="2027-11-07T03:00",
        ),
    )
    past = add(node, title="Summer Forum", starts_at="2026-06-01T09:00", ends_at="2026-06-01T17:00")
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
    other = add(
        node,
        title="Steady Meetup",
        kind="meetup",
        starts_at="2027-04-01T18:00",
        ends_at="2027-04-01T20:00",
    )

    def current() -> dict[str, Event]:
        return {str(e["UID"]): e for e in vevents(parse(get_feed(node)))}

    first = current()[f"{eid}@healthnet"]
    assert first.decoded("SEQUENCE") == 1 and str(first["STATUS"]) == "CONFIRMED"

    r = node.client.put(
        f"/admin/events/{eid}",
        headers=node.editor,
        json=event_body(
            title="Evolving Summit (moved)",
            starts_at="2027-03-11T09:00",
            ends_at="2027-03-11T17:00",
        ),
    )
    assert r.status_code == 200, r.text
    moved = current()[f"{eid}@healthnet"]
    assert moved.decoded("SEQUENCE") == 2 == node.client.get(f"/events/{eid}").json()["version"]
    assert str(moved["SUMMARY"]) == "Evolving Summit (moved)"
    assert iso(moved.decoded("DTSTART")) == "2027-03-11T08:00:00Z"
    assert moved.decoded("LAST-MODIFIED") >= first.decoded("LAST-MODIFIED")

    r = node.client.put(
        f"/admin/events/{eid}",
        headers=node.editor,
        json=event_body(
            title="Evolving Summit (moved)",
            status="cancelled",
            starts_at="2027-03-11T09:00",
            ends_at="2027-03-11T17:00",
        ),
    )
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
    add(
        node,
        title="Alpha Webinar",
        organizer=a,
        topics=["patient engagement"],
        **online(kind="webinar", starts_at="2027-01-10T10:00", ends_at="2027-01-10T11:00"),
    )
    add(
        node,
        title="Beta Webinar",
        organizer=b,
        topics=["patient engagement", "innovation"],
        **online(kind="webinar", starts_at="2027-02-10T10:00", ends_at="2027-02-10T11:00"),
    )
    add(
        node,
        title="Free Workshop",
        kind="workshop",
        topics=["innovation"],
        starts_at="2026-12-01T10:00",
        ends_at="2026-12-01T12:00",
    )

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
        "Free Workshop",
        "Beta Webinar",
        "Alpha Conference",
    ]
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
        get_feed(node, organizer=a, kind="webinar").content
    )
    by_region = get_feed(node, "/regions/europe/events.ics", topic="innovation")
    assert by_region.content == get_feed(node, region="europe", topic="innovation").content
    assert by_region.headers["content-disposition"] == (
        'inline; filename="events-europe-innovation.ics"'
    )


def test_window_keeps_a_year_of_history_then_events_leave_the_feed(
    node: Node, clock: Clock
) -> None:
    # A subscribed calendar mirrors the feed: what leaves the window leaves it too.
    add(node, title="Last Summer", starts_at="2026-06-01T09:00", ends_at="2026-06-01T17:00")
    add(node, title="Next Spring", starts_at="2027-03-10T09:00", ends_at="2027-03-10T17:00")
    assert [str(e["SUMMARY"]) for e in vevents(parse(get_feed(node)))] == [
        "Last Summer",
        "Next Spring",
    ]
    clock.advance(days=366)  # 2027-11-25: Last Summer ended more than 365 days ago
    assert [str(e["SUMMARY"]) for e in vevents(parse(get_feed(node)))] == ["Next Spring"]
    clock.advance(days=365)
    assert vevents(parse(get_feed(node))) == []


def test_events_far_from_today_are_written_in_utc(node: Node) -> None:
    # more than 30 years ahead: UTC, so no VTIMEZONE has to span decades
    far = add(
        node, title="Far Future Congress", starts_at="2060-05-10T09:00", ends_at="2060-05-10T17:00"
    )
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
        add(
            node,
            title=f"Past {month}",
            starts_at=f"2026-0{month}-01T09:00",
            ends_at=f"2026-0{month}-01T17:00",
        )
    for month in (1, 2, 3):  # three upcoming ones (2027)
        add(
            node,
            title=f"Next {month}",
            starts_at=f"2027-0{month}-01T09:00",
            ends_at=f"2027-0{month}-01T17:00",
        )

    def titles() -> list[str]:
        return [str(e["SUMMARY"]) for e in vevents(parse(get_feed(node)))]

    assert titles() == ["Past 2", "Past 4", "Past 6", "Next 1", "Next 2", "Next 3"]
    monkeypatch.setattr(calendar_api, "MAX_FEED_EVENTS", 4)
    assert titles() == ["Past 6", "Next 1", "Next 2", "Next 3"]  # the latest past one
    monkeypatch.setattr(calendar_api, "MAX_FEED_EVENTS", 2)
    assert titles() == ["Next 1", "Next 2"]  # the nearest upcoming ones
