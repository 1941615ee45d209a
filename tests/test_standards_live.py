"""Standard clients against running nodes, with no project code on the client side.

The demo's six real processes serve the whole directory; this file reads them only over
HTTP and checks what it gets with independent parsers: `icalendar` for the feeds,
`fhir.resources` (R4B models) for FHIR, `jsonschema` for the published schemas. Nothing
from schemas/, federation/ or node/ is imported here.
"""

from __future__ import annotations

from typing import Any

import httpx
import icalendar
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from jsonschema import Draft202012Validator
from support.demo import Demo

pytestmark = pytest.mark.slow


def _all(url: str, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a JSON API listing, following its cursors (bounded)."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(50):
        query = {**params, "limit": 200, **({"cursor": cursor} if cursor else {})}
        page = httpx.get(url + path, params=query, timeout=10).json()
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return items
    raise AssertionError("more than 50 pages")


def test_a_calendar_client_subscribes_to_any_node(demo: Demo) -> None:
    events = _all(demo.hub, "/events")
    assert len(events) >= 6
    uids = {f"{e['id']}@healthnet" for e in events}
    for url in (demo.hub, demo.urls["asia"]):  # the same feed from two nodes
        r = httpx.get(url + "/events.ics", timeout=10)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
        calendar = icalendar.Calendar.from_ical(r.content)
        vevents = calendar.walk("VEVENT")
        assert {str(v["UID"]) for v in vevents} >= uids
        zones = {str(t["TZID"]) for t in calendar.walk("VTIMEZONE")}
        for v in vevents:
            start = v["DTSTART"].dt
            if getattr(start, "tzinfo", None) is not None and "TZID" in v["DTSTART"].params:
                assert v["DTSTART"].params["TZID"] in zones
        # A client that polls with the ETag it has gets "not modified" and no body.
        again = httpx.get(url + "/events.ics", headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
    europe = icalendar.Calendar.from_ical(
        httpx.get(demo.urls["oceania"] + "/regions/europe/events.ics", timeout=10).content
    )
    expected = {f"{e['id']}@healthnet" for e in events if e["region"] == "europe"}
    assert expected and {str(v["UID"]) for v in europe.walk("VEVENT")} >= expected
    assert all(str(v["UID"]) in uids | expected for v in europe.walk("VEVENT"))


def test_a_fhir_client_harvests_the_directory(demo: Demo) -> None:
    members = {m["id"]: m for m in _all(demo.urls["europe"], "/members")}
    base = demo.urls["south-america"] + "/fhir"
    CapabilityStatement.model_validate(httpx.get(base + "/metadata", timeout=10).json())
    seen: dict[str, dict[str, Any]] = {}
    url: str | None = base + "/Organization?_count=7"
    for _ in range(50):
        if url is None:
            break
        r = httpx.get(url, timeout=10)
        assert r.status_code == 200 and "fhir+json" in r.headers["content-type"]
        bundle = r.json()
        Bundle.model_validate(bundle)
        for entry in bundle.get("entry", []):
            resource = entry["resource"]
            assert resource["id"] not in seen, "a page repeated an entry"
            seen[resource["id"]] = resource
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
    assert url is None and set(seen) == set(members)
    for rid, org in seen.items():
        assert org["name"] == members[rid]["name"]
        # Provenance: the origin node that signed it, the same on every node.
        assert members[rid]["origin"] in org["meta"]["source"]
    dutch = httpx.get(base + "/Organization", params={"address-country": "NL"}, timeout=10)
    Bundle.model_validate(dutch.json())
    want = {rid for rid, m in members.items() if m["country"] == "NL"}
    assert want and {e["resource"]["id"] for e in dutch.json()["entry"]} == want


def test_a_json_schema_validator_checks_what_nodes_serve(demo: Demo) -> None:
    url = demo.urls["africa"]
    index = httpx.get(url + "/schemas/", timeout=10).json()
    schemas = {}
    for entry in index["schemas"]:
        doc = httpx.get(url + entry["url"], timeout=10).json()
        Draft202012Validator.check_schema(doc)
        schemas[entry["name"]] = Draft202012Validator(
            doc, format_checker=Draft202012Validator.FORMAT_CHECKER
        )

    def check(name: str, instance: Any) -> None:
        errors = [e.message for e in schemas[name].iter_errors(instance)]
        assert errors == [], (name, errors[:3])

    for member in _all(url, "/members"):
        check("member-public.schema.json", member)
    for event in _all(url, "/events"):
        check("event-public.schema.json", event)
    check("roster-record.schema.json", httpx.get(url + "/federation/roster", timeout=10).json())
    heads = httpx.get(url + "/federation/heads", timeout=10).json()["origins"]
    assert len(heads) == 6
    for head in heads:
        page = httpx.get(
            url + "/federation/records", params={"origin": head["origin"], "limit": 50}, timeout=10
        ).json()
        for envelope in page["records"]:
            check("envelope.schema.json", envelope)
