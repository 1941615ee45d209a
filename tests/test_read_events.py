"""The public calendar: GET /events, GET /events/{id} and the signed record of an event.

Time is the injected test clock (2026-11-24T12:00Z at the start, ``clock.advance`` moves it);
events are created through the admin API; tests run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from support.clock import Clock
from support.factories import event_body, member_body
from support.nodes import Node
from support.problems import assert_problem

from federation.keys import public_key
from federation.signing import verify_envelope
from node.db import fulltext


def add(node: Node, **fields: Any) -> str:
    r = node.client.post("/admin/events", json=event_body(**fields), headers=node.editor)
    assert r.status_code == 201, r.text
    eid: str = r.json()["id"]
    return eid


def online(**fields: Any) -> dict[str, Any]:
    """Overrides for an online-only event."""
    return {"venue": None, "online_url": "https://example.org/live", **fields}


def page(node: Node, **params: Any) -> dict[str, Any]:
    r = node.client.get("/events", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def items(node: Node, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page(node, **{"limit": 200, **params})["items"]
    return found


def titles(node: Node, **params: Any) -> list[str]:
    return [e["title"] for e in items(node, **params)]


# --------------------------------------------------------------------------- upcoming


def test_default_listing_is_events_not_yet_ended_by_start(node: Node, clock: Clock) -> None:
    # Amsterdam is UTC+1 in winter; the clock starts at 2026-11-24T12:00Z (13:00 local)
    add(node, title="Past Summit", starts_at="2026-11-20T09:00", ends_at="2026-11-20T17:00")
    add(node, title="Latest Conference", starts_at="2027-03-10T09:00",
        ends_at="2027-03-10T17:00")
    add(node, title="Running Congress", starts_at="2026-11-23T09:00",
        ends_at="2026-11-25T17:00")
    add(node, title="Ending Now Workshop", kind="workshop", starts_at="2026-11-24T10:00",
        ends_at="2026-11-24T13:00")
    add(node, title="Soon Meetup", kind="meetup", starts_at="2026-12-01T18:00",
        ends_at="2026-12-01T20:00")
    add(node, title="Starting Now Talk", starts_at="2026-11-24T13:00",
        ends_at="2026-11-24T14:00")
    add(node, **online(title="Later Webinar", kind="webinar", timezone="America/New_York",
                       starts_at="2027-01-05T15:00", ends_at="2027-01-05T16:00"))

    assert titles(node) == ["Running Congress", "Ending Now Workshop", "Starting Now Talk",
                            "Soon Meetup", "Later Webinar", "Latest Conference"]
    assert page(node, count=True)["total"] == 6
    running = items(node)[0]
    assert running["starts_at_utc"] == "2026-11-23T08:00:00Z"
    assert running["ends_at_utc"] == "2026-11-25T16:00:00Z"

    # "Upcoming" is "not over before today (UTC)": an event that ended earlier today is still
    # listed, and a cursor stays valid while the clock moves during one day.
    clock.advance(seconds=1)  # "Ending Now" ended one second ago: still today
    assert titles(node)[:3] == ["Running Congress", "Ending Now Workshop", "Starting Now Talk"]
    clock.advance(days=1)  # 2026-11-25T12:00:01Z: yesterday's events are gone
    assert titles(node)[:2] == ["Running Congress", "Soon Meetup"]  # still in progress
    clock.advance(hours=12)  # 2026-11-26T00:00:01Z: the congress ended yesterday
    assert titles(node) == ["Soon Meetup", "Later Webinar", "Latest Conference"]
    clock.advance(days=60)  # 2027-01-24
    assert titles(node) == ["Latest Conference"]
    assert page(node, count=True)["total"] == 1
    clock.advance(days=365)
    assert titles(node) == []
    # an explicit window still finds what has passed
    assert titles(node, **{"from": "2026-01-01"}) == [
        "Past Summit", "Running Congress", "Ending Now Workshop", "Starting Now Talk",
        "Soon Meetup", "Later Webinar", "Latest Conference"]


# --------------------------------------------------------------------------- from / to


def test_from_and_to_select_by_overlap(node: Node) -> None:
    # winter in Amsterdam: local 09:00/17:00 are 08:00Z/16:00Z
    add(node, title="Past Forum", starts_at="2026-06-01T09:00", ends_at="2026-06-01T17:00")
    add(node, title="January Course", starts_at="2027-01-10T09:00",
        ends_at="2027-01-12T17:00")
    add(node, title="February Day", starts_at="2027-02-01T09:00", ends_at="2027-02-01T17:00")
    add(node, title="March Summit", starts_at="2027-03-10T09:00", ends_at="2027-03-10T17:00")
    past, jan, feb, mar = "Past Forum", "January Course", "February Day", "March Summit"

    def t(**params: str) -> list[str]:
        return titles(node, **params)

    f = "from"
    assert t() == [jan, feb, mar]
    assert t(**{f: "2026-01-01"}) == [past, jan, feb, mar]  # from replaces "upcoming"
    assert t(**{f: "2027-01-11"}) == [jan, feb, mar]  # running on that day
    assert t(**{f: "2027-01-13"}) == [feb, mar]
    assert t(**{f: "2027-01-12T16:00:00Z"}) == [jan, feb, mar]  # ends exactly then
    assert t(**{f: "2027-01-12T16:00:01Z"}) == [feb, mar]
    assert t(**{f: "2027-01-12T16:00:00"}) == [jan, feb, mar]  # no offset: UTC
    assert t(**{f: "2027-01-12T17:00:00+01:00"}) == [jan, feb, mar]
    assert t(**{f: "2027-01-12T17:00:01+01:00"}) == [feb, mar]
    assert t(**{f: "2027-01-12T11:00-05:00"}) == [jan, feb, mar]
    assert t(**{f: "2027-01-12T11:01-05:00"}) == [feb, mar]
    assert t(**{f: "2027-01-13T05:59:59+14:00"}) == [jan, feb, mar]  # 2027-01-12T15:59:59Z
    assert t(to="2027-02-01T08:00:00Z") == [past, jan]  # starts before, strictly
    assert t(to="2027-02-01T08:00:01Z") == [past, jan, feb]
    assert t(to="2027-02-01T09:00:01+01:00") == [past, jan, feb]
    assert t(to="2027-02-01") == [past, jan]  # a date is midnight UTC
    assert t(to="2027-02-02") == [past, jan, feb]
    assert t(to="2026-06-01T07:00Z") == []
    assert t(**{f: "2027-01-11", "to": "2027-02-02"}) == [jan, feb]
    assert t(**{f: "2027-01-13", "to": "2027-02-01"}) == []
    assert t(**{f: "2027-01-12T15:00Z", "to": "2027-01-12T15:30Z"}) == [jan]  # inside it
    assert t(**{f: "2027-03-10", "to": "2027-03-11"}) == [mar]
    assert page(node, count=True, **{f: "2026-01-01", "to": "2027-02-02"})["total"] == 3


def test_bad_from_and_to_are_422(sqlite_node: Node) -> None:
    c = sqlite_node.client
    for value in ("yesterday", "2027-13-01", "2027-02-30", "2027-01-01T25:00", "01/02/2027",
                  "2027-01-01T10:00+25:00", "", "2027-01-01 T10:00", "x" * 41):
        assert_problem(c.get("/events", params={"from": value}), 422, "query.from")
        assert_problem(c.get("/events", params={"to": value}), 422, "query.to")
    assert_problem(c.get("/events", params={"from": "2027-01-01", "to": "soon"}), 422,
                   "query.to")


def test_from_and_to_at_the_edge_of_time_are_not_server_errors(sqlite_node: Node) -> None:
    # fails while parsing the request, before any database is involved
    for params in ({"from": "0001-01-01T00:00:00+01:00"}, {"to": "9999-12-31T23:00:00-05:00"}):
        r = sqlite_node.client.get("/events", params=params)
        assert r.status_code in (200, 422), (params, r.status_code)


def test_from_and_to_before_year_1000(node: Node) -> None:
    add(node, title="March Summit")
    assert titles(node, **{"from": "0999-01-01"}) == ["March Summit"]  # ends after 999
    assert titles(node, to="0999-01-01") == []  # does not start before 999


def test_from_and_to_with_fractional_seconds(node: Node) -> None:
    add(node, title="Day", starts_at="2027-02-01T09:00", ends_at="2027-02-01T17:00")
    assert titles(node, **{"from": "2027-02-01T15:59:59.5Z"}) == ["Day"]  # passes
    assert titles(node, to="2027-02-01T08:00:00.5Z") == ["Day"]  # starts before it
    assert titles(node, **{"from": "2027-02-01T16:00:00.5Z"}) == []  # ended before it


# --------------------------------------------------------------------------- filters


@pytest.mark.parametrize("few_matches", [fulltext.FEW_MATCHES, 1], ids=["lookup", "walk"])
def test_filters_organizer_kind_country_topic_language_q(
    node: Node, few_matches: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both SQLite plans of a text search (see node.db.fulltext.FEW_MATCHES) give one answer.
    monkeypatch.setattr(fulltext, "FEW_MATCHES", few_matches)
    r = node.client.post("/admin/members", json=member_body(), headers=node.editor)
    org = r.json()["id"]
    other = node.client.post("/admin/members", json=member_body(name="Other Org"),
                             headers=node.editor).json()["id"]
    add(node, title="Patient Voices Summit", organizer=org, starts_at="2027-01-10T09:00",
        ends_at="2027-01-10T17:00", topics=["patient engagement"], language="en")
    add(node, **online(title="Digital Health Webinar", kind="webinar", organizer=org,
                       starts_at="2027-01-20T15:00", ends_at="2027-01-20T16:00",
                       topics=["digital health"], language="nl"))
    add(node, title="Brussels Meetup", kind="meetup", starts_at="2027-02-03T18:00",
        ends_at="2027-02-03T21:00", timezone="Europe/Brussels", language="fr",
        venue={"name": "Maison des Associations", "city": "Bruxelles", "country": "BE"},
        description="Bring your laptop", topics=["social media", "patient engagement"])
    add(node, title="Berlin Workshop", kind="workshop", starts_at="2027-02-15T09:00",
        ends_at="2027-02-16T17:00", timezone="Europe/Berlin", language="de",
        venue={"city": "Berlin", "country": "DE"}, topics=[], organizer=other)
    add(node, title="Zeta Conference", starts_at="2026-12-01T09:00",
        ends_at="2026-12-01T17:00", topics=[], language="en")
    summit, webinar, meetup, workshop, zeta = ("Patient Voices Summit", "Digital Health Webinar",
                                               "Brussels Meetup", "Berlin Workshop",
                                               "Zeta Conference")

    def t(**params: Any) -> list[str]:
        return titles(node, **params)

    assert t() == [zeta, summit, webinar, meetup, workshop]
    assert t(organizer=org) == [summit, webinar]
    assert t(organizer=other) == [workshop]
    assert t(organizer="00000000-0000-4000-8000-000000000000") == []
    assert t(organizer=org, kind="conference") == [summit]
    assert t(kind="webinar") == [webinar]
    assert t(kind="conference") == [zeta, summit]
    assert t(country="be") == [meetup]
    assert t(country="NL") == [zeta, summit]  # the default venue is in Nijmegen
    assert t(country="FR") == []
    assert t(topic="Patient Engagement") == [summit, meetup]
    assert t(topic="digital health") == [webinar]
    assert t(language="fr") == [meetup]
    assert t(language="en") == [zeta, summit]
    assert t(region="europe") == [zeta, summit, webinar, meetup, workshop]
    assert t(region="asia") == []
    assert t(q="laptop") == [meetup]  # description
    assert t(q="bruxelles") == [meetup]  # venue city
    assert t(q="maison associations") == [meetup]  # venue name
    assert t(q="voices") == [summit]  # title
    assert t(q="webinar") == [webinar]
    assert t(q="conference") == [zeta, summit]  # by start, not by name
    assert t(q="nijmegen conference") == [zeta, summit]
    assert t(q="'; DROP TABLE entries; --") == []
    assert t(q="meetup OR workshop") == []
    assert t(q="patient", kind="meetup", country="BE", language="fr") == [meetup]
    assert page(node, organizer=org, count=True)["total"] == 2
    assert page(node, count=True, limit=1)["total"] == 5
    for params, field in (({"kind": "seminar"}, "query.kind"),
                          ({"region": "mars"}, "query.region"),
                          ({"country": "BEL"}, "query.country"),
                          ({"limit": 201}, "query.limit"),
                          ({"limit": 0}, "query.limit"),
                          ({"organizer": "x" * 65}, "query.organizer")):
        assert_problem(node.client.get("/events", params=params), 422, field)


def test_attendance_finds_online_in_person_and_hybrid_under_both(node: Node) -> None:
    """How one takes part is read from the record itself: a venue means in person, an
    online_url means online, and a hybrid event (both) is found under either."""
    add(node, title="Hall", starts_at="2027-01-10T09:00", ends_at="2027-01-10T17:00")
    add(node, **online(title="Stream", starts_at="2027-01-11T09:00", ends_at="2027-01-11T10:00"))
    add(node, title="Both", online_url="https://example.org/hybrid",
        starts_at="2027-01-12T09:00", ends_at="2027-01-12T17:00")
    assert titles(node, attendance="online") == ["Stream", "Both"]
    assert titles(node, attendance="in_person") == ["Hall", "Both"]
    assert titles(node, attendance="online", q="stream") == ["Stream"]
    assert page(node, attendance="in_person", count=True)["total"] == 2
    assert_problem(node.client.get("/events", params={"attendance": "zoom"}), 422,
                   "query.attendance")


def test_cancelled_events_stay_listed_with_their_status(node: Node) -> None:
    eid = add(node, title="Maybe Conference")
    add(node, title="Cancelled Early", status="cancelled", starts_at="2027-01-01T09:00",
        ends_at="2027-01-01T12:00")
    r = node.client.put(f"/admin/events/{eid}", headers=node.editor,
                        json=event_body(title="Maybe Conference", status="cancelled"))
    assert r.status_code == 200, r.text
    listed = items(node)
    assert [(e["title"], e["status"], e["version"]) for e in listed] == [
        ("Cancelled Early", "cancelled", 1), ("Maybe Conference", "cancelled", 2)]
    assert node.client.get(f"/events/{eid}").json()["status"] == "cancelled"
    r = node.client.put(f"/admin/events/{eid}", headers=node.editor,
                        json=event_body(title="Maybe Conference"))
    assert r.status_code == 200, r.text
    assert [e["status"] for e in items(node)] == ["cancelled", "scheduled"]


# --------------------------------------------------------------------------- time zones


def test_utc_instants_across_dst(node: Node) -> None:
    cases = [
        # Amsterdam springs forward on 2027-03-28 (02:00 -> 03:00): +01:00 then +02:00
        ({"starts_at": "2027-03-27T10:00", "ends_at": "2027-03-28T10:00"},
         "2027-03-27T09:00:00Z", "2027-03-28T08:00:00Z"),
        ({"starts_at": "2027-03-28T01:30", "ends_at": "2027-03-28T03:30"},
         "2027-03-28T00:30:00Z", "2027-03-28T01:30:00Z"),
        # and falls back on 2027-10-31 (03:00 -> 02:00): 02:30 happens twice, the first counts
        ({"starts_at": "2027-10-31T02:30", "ends_at": "2027-10-31T03:30"},
         "2027-10-31T00:30:00Z", "2027-10-31T02:30:00Z"),
        ({"starts_at": "2027-10-30T12:00", "ends_at": "2027-10-31T12:00"},
         "2027-10-30T10:00:00Z", "2027-10-31T11:00:00Z"),
        # New York springs forward on 2027-03-14
        (online(timezone="America/New_York", starts_at="2027-03-13T12:00",
                ends_at="2027-03-14T12:00"),
         "2027-03-13T17:00:00Z", "2027-03-14T16:00:00Z"),
        # Sydney falls back on 2027-04-04 (+11:00 -> +10:00)
        (online(timezone="Australia/Sydney", starts_at="2027-04-03T09:00",
                ends_at="2027-04-04T09:00"),
         "2027-04-02T22:00:00Z", "2027-04-03T23:00:00Z"),
        # a zone with a 45-minute offset and no DST
        (online(timezone="Asia/Kathmandu", starts_at="2027-05-01T09:00",
                ends_at="2027-05-01T10:00"),
         "2027-05-01T03:15:00Z", "2027-05-01T04:15:00Z"),
        # one morning in four zones: local order is the reverse of UTC order
        ({"title": "Lisbon", "timezone": "Europe/Lisbon", "starts_at": "2027-02-01T09:30",
          "ends_at": "2027-02-01T12:00", "venue": {"city": "Lisbon", "country": "PT"}},
         "2027-02-01T09:30:00Z", "2027-02-01T12:00:00Z"),
        ({"title": "Amsterdam", "starts_at": "2027-02-01T10:00", "ends_at": "2027-02-01T12:00"},
         "2027-02-01T09:00:00Z", "2027-02-01T11:00:00Z"),
        (online(title="New York", timezone="America/New_York", starts_at="2027-02-01T05:00",
                ends_at="2027-02-01T06:00"),
         "2027-02-01T10:00:00Z", "2027-02-01T11:00:00Z"),
        (online(title="Tokyo", timezone="Asia/Tokyo", starts_at="2027-02-01T17:30",
                ends_at="2027-02-01T19:00"),
         "2027-02-01T08:30:00Z", "2027-02-01T10:00:00Z"),
    ]
    expected = {}
    for i, (fields, start, end) in enumerate(cases):
        eid = add(node, **{"title": f"Event {i}", **fields})
        expected[eid] = (start, end)
        got = node.client.get(f"/events/{eid}").json()
        assert (got["starts_at_utc"], got["ends_at_utc"]) == (start, end), fields
        assert got["starts_at"] == fields["starts_at"]  # the wall clock is kept as given
        assert got["timezone"] == fields.get("timezone", "Europe/Amsterdam")
    listed = items(node)
    assert {e["id"]: (e["starts_at_utc"], e["ends_at_utc"]) for e in listed} == expected
    assert [e["starts_at_utc"] for e in listed] == sorted(s for s, _ in expected.values())
    assert [e["title"] for e in listed if e["starts_at_utc"].startswith("2027-02-01")] == [
        "Tokyo", "Amsterdam", "Lisbon", "New York"]
    # from/to compare UTC instants: the DST night event ends at 02:30Z
    assert "Event 2" in titles(node, **{"from": "2027-10-31T02:30:00Z"})
    assert "Event 2" not in titles(node, **{"from": "2027-10-31T02:30:01Z"})
    assert "Event 1" in titles(node, to="2027-03-28T00:30:01Z")
    assert "Event 1" not in titles(node, to="2027-03-28T01:30:00+01:00")


# --------------------------------------------------------------------------- pagination


def test_event_pagination_walks_once_in_start_order(node: Node) -> None:
    rng = random.Random(5)
    starts = [f"2027-0{rng.randint(1, 9)}-{rng.randint(10, 28)}T{rng.choice(['09', '14'])}:00"
              for _ in range(14)]
    starts += [starts[0], starts[0], starts[3]]  # equal starts: ties broken by pk
    made = {}
    for i, start in enumerate(starts):
        made[add(node, title=f"Event {i:02d}", starts_at=start,
                 ends_at=start[:11] + "20:00")] = start
    everything = items(node)
    assert sorted(e["id"] for e in everything) == sorted(made)
    order = [e["starts_at_utc"] for e in everything]
    assert order == sorted(order)
    ids = [e["id"] for e in everything]
    for limit in (1, 4, 16, 17):
        walked, cursor = [], None
        while True:
            body = page(node, limit=limit, **({"cursor": cursor} if cursor else {}))
            walked += [e["id"] for e in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert walked == ids
    # writers between pages: the untouched events come back exactly once
    first = page(node, limit=5)
    seen = [e["id"] for e in first["items"]]
    ahead = [i for i in ids if i not in seen]
    gone = ahead[3]
    assert node.client.delete(f"/admin/events/{gone}", headers=node.editor).status_code == 200
    moved = ahead[0]
    r = node.client.put(f"/admin/events/{moved}", headers=node.editor,
                        json=event_body(title="Renamed", starts_at=made[moved],
                                        ends_at=made[moved][:11] + "20:00"))
    assert r.status_code == 200
    early = add(node, title="Early Bird", starts_at="2027-01-01T08:00",
                ends_at="2027-01-01T09:00")  # before the cursor: not in the rest of the walk
    late = add(node, title="Late Owl", starts_at="2027-12-01T08:00",
               ends_at="2027-12-01T09:00")  # after every page so far: in the rest
    cursor = first["next_cursor"]
    while cursor:
        body = page(node, limit=5, cursor=cursor)
        seen += [e["id"] for e in body["items"]]
        cursor = body["next_cursor"]
    assert len(seen) == len(set(seen))
    assert gone not in seen
    assert [i for i in seen if i in made] == [i for i in ids if i != gone]
    assert early not in seen
    assert seen[-1] == late
    # a cursor is bound to its query
    cur = page(node, limit=2)["next_cursor"]
    for params in ({"kind": "webinar"}, {"from": "2027-01-01"}, {"q": "event"}):
        assert_problem(node.client.get("/events", params={**params, "cursor": cur}), 422,
                       "query.cursor")
    assert_problem(node.client.get("/members", params={"cursor": cur}), 422, "query.cursor")
    assert_problem(node.client.get("/events", params={"cursor": "bogus"}), 422, "query.cursor")


# --------------------------------------------------------------------------- one event


def test_get_event_by_id_and_its_signed_record(node: Node) -> None:
    c = node.client
    org = c.post("/admin/members", json=member_body(), headers=node.editor).json()["id"]
    body = event_body(organizer=org, description="Talks and workshops",
                      registration_url="https://example.org/register")
    eid = c.post("/admin/events", json=body, headers=node.editor).json()["id"]
    info = c.get("/node").json()

    r = c.get(f"/events/{eid}")
    assert r.status_code == 200
    assert r.headers["etag"] == '"1"'
    got = r.json()
    assert got["id"] == eid
    assert got["origin"] == info["node_id"]
    assert got["version"] == 1
    assert got["status"] == "scheduled"
    assert (got["starts_at_utc"], got["ends_at_utc"]) == ("2027-03-10T08:00:00Z",
                                                          "2027-03-10T16:00:00Z")
    for key, value in body.items():
        assert got[key] == value, key

    key = public_key(info["public_key"])
    env = c.get(f"/records/{eid}").json()
    verify_envelope(env, key)
    assert env["record"]["kind"] == "event"
    assert env["record"]["id"] == eid
    assert env["body"] == {k: v for k, v in got.items()
                           if k not in ("id", "origin", "version", "updated_at",
                                        "starts_at_utc", "ends_at_utc")}

    r = c.put(f"/admin/events/{eid}", json=event_body(title="Renamed"), headers=node.editor)
    assert r.status_code == 200
    assert c.get(f"/events/{eid}").headers["etag"] == '"2"'
    assert c.get(f"/events/{eid}").json()["title"] == "Renamed"

    assert_problem(c.get("/events/00000000-0000-4000-8000-000000000000"), 404)
    assert_problem(c.get(f"/events/{org}"), 404)  # a member is not an event
    for bad in ("nope", eid.upper(), eid + "a", eid.replace("-", "")):
        assert_problem(c.get(f"/events/{bad}"), 422, "path.event_id")

    assert c.delete(f"/admin/events/{eid}", headers=node.editor).status_code == 200
    assert_problem(c.get(f"/events/{eid}"), 404)
    assert items(node, **{"from": "2000-01-01"}) == []
    tomb = c.get(f"/records/{eid}").json()
    verify_envelope(tomb, key)
    assert tomb["record"]["deleted"] is True
    assert tomb["record"]["version"] == 3
    assert tomb["body"] is None


def test_nul_character_in_event_filters_is_not_a_server_error(node: Node) -> None:
    add(node)
    for params in ({"organizer": "abc\x00"}, {"topic": "social\x00media"}):
        r = node.client.get("/events", params=params)
        assert r.status_code in (200, 422), (params, r.status_code)


def test_default_events_cursor_survives_the_clock_moving(node: Node, clock: Clock) -> None:
    for day in range(1, 6):
        add(node, title=f"Event {day}", starts_at=f"2027-02-0{day}T09:00",
            ends_at=f"2027-02-0{day}T17:00")
    first = page(node, limit=2)
    clock.advance(minutes=30)  # the same day: the default "upcoming" query is unchanged
    r = node.client.get("/events", params={"limit": 2, "cursor": first["next_cursor"]})
    assert r.status_code == 200, r.text
    assert [e["title"] for e in r.json()["items"]] == ["Event 3", "Event 4"]
