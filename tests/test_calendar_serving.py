"""How the iCalendar feeds are served: validators and the built-feed cache, HEAD, bad
parameters and routing, the links from the HTML pages, and the same UIDs on every node of a
federation (what a feed holds: test_calendar).

Feeds are parsed on their own with ``icalendar``. The test clock starts at 2026-11-24T12:00Z.
"""

from __future__ import annotations

import ast
import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar
from support.calendars import SITE, add, check_timezones, get_feed, online, parse, uids, vevents
from support.clock import Clock
from support.factories import add_member, event_body
from support.fedkit import Federation
from support.nodes import Node
from support.problems import assert_problem

from node.api import calendar as calendar_api
from schemas.event import EventKind
from schemas.geo import Region

ROOT = Path(__file__).resolve().parent.parent


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
    assert_problem(c.get("/events.ics", params={"organizer": "not-an-id"}), 422, "query.organizer")
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
    add(
        node,
        title="Linked Webinar",
        organizer=mid,
        **online(kind="webinar", starts_at="2027-01-10T10:00", ends_at="2027-01-10T11:00"),
    )
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
                (
                    hub,
                    event_body(
                        title="Rochester Summit",
                        region="north-america",
                        timezone="America/Chicago",
                        venue={"city": "Rochester", "country": "US"},
                    ),
                ),
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
                    na = Calendar.from_ical(
                        (await client.get("/regions/north-america/events.ics")).content
                    )
                    assert [str(e["SUMMARY"]) for e in vevents(na)] == ["Rochester Summit"]
                    check_timezones(na)
                    if n is eu:
                        assert r.headers["etag"] != before  # the pull changed the feed
            expected = {f"{eid}@healthnet": title for eid, title in made.items()}
            assert feeds["hub.test"] == feeds["europe.test"] == expected
        finally:
            await fed.close()

    asyncio.run(scenario())
