"""One event as an iCalendar file (``/events/{id}.ics``): the event page's "Add to
calendar". The same UID and SEQUENCE as in the feeds, so a calendar keeps one copy."""

from __future__ import annotations

import uuid

from support.calendars import add, get_feed, parse, vevents
from support.nodes import Node
from support.problems import assert_problem


def test_an_event_file_holds_that_event_with_the_feeds_uid(node: Node) -> None:
    first = add(node, title="Patient Voices Webinar")
    add(node, title="Another Event")
    r = get_feed(node, f"/events/{first}.ics")
    assert r.headers["content-disposition"].startswith("attachment; filename=")
    assert r.headers["content-disposition"].endswith('patient-voices-webinar.ics"')
    (event,) = vevents(parse(r))
    assert str(event["SUMMARY"]) == "Patient Voices Webinar"
    in_feed = {str(e["UID"]): e for e in vevents(parse(get_feed(node)))}
    assert str(event["UID"]) in in_feed
    assert int(event["SEQUENCE"]) == int(in_feed[str(event["UID"])]["SEQUENCE"])


def test_an_edit_changes_the_etag_and_the_sequence(node: Node) -> None:
    eid = add(node, title="Versioned Event")
    r1 = get_feed(node, f"/events/{eid}.ics")
    again = node.client.get(f"/events/{eid}.ics", headers={"If-None-Match": r1.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    body = node.client.get(f"/events/{eid}").json()
    edit = {k: v for k, v in body.items() if k not in ("id", "version", "origin", "seq",
            "updated_at", "starts_at_utc", "ends_at_utc", "signature")}  # fmt: skip
    edit["title"] = "Versioned Event, moved"
    r = node.client.put(f"/admin/events/{eid}", json=edit, headers=node.editor)
    assert r.status_code == 200, r.text
    r2 = get_feed(node, f"/events/{eid}.ics")
    assert r2.headers["etag"] != r1.headers["etag"]
    (before,), (after,) = vevents(parse(r1)), vevents(parse(r2))
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])
    assert str(after["SUMMARY"]) == "Versioned Event, moved"


def test_an_unknown_or_malformed_event_is_a_problem(node: Node) -> None:
    assert_problem(node.client.get(f"/events/{uuid.uuid4()}.ics"), 404)
    assert node.client.get("/events/not-an-id.ics").status_code in (404, 422)


def test_the_event_page_links_to_its_file(node: Node) -> None:
    eid = add(node, title="Linked Event")
    page = node.client.get(f"/e/{eid}")
    assert page.status_code == 200
    assert f'href="/events/{eid}.ics"' in page.text and "Add to calendar" in page.text
