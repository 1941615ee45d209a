"""The published JSON Schemas (docs/SCHEMAS.md) are true to what a node really serves: real
responses of a node on SQLite and on PostgreSQL (reads, federation pages, exports, the
roster record) validate, checked with ``jsonschema``, and /schemas/ serves the files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from support.cli import hn
from support.clock import Clock
from support.factories import event_body, member_body
from support.json_schema_docs import assert_valid, validator
from support.nodes import Node, make_node

from federation import keys
from federation.roster import with_node
from node import roster
from node.cli_schemas import PUBLISHED_DIR
from node.db.engine import writer
from schemas.roster import RosterKey, RosterNode

# 3. Real responses of a node validate.


def _populate(node: Node) -> dict[str, str]:
    """Members and events through the admin API, with a stub (an update) and a tombstone."""

    def write(method: str, path: str, body: Any = None, status: int = 200) -> str:
        r = node.client.request(method, path, json=body, headers=node.editor)
        assert r.status_code == status, r.text
        assert_valid("envelope.schema.json", r.json()["record"])
        return str(r.json()["id"])

    contact = {"name": "Communicatie", "email": "info@radboudumc.nl", "phone": "+31 24 361 11"}
    social = [{"platform": "x", "handle": "@radboudumc", "url": "https://x.com/radboudumc"}]
    full = member_body(
        contact=contact, social=social, joined="2012-06-01", description="UMC – Nijmegen"
    )
    member = write("POST", "/admin/members", full, 201)
    minimal = {"name": "Patiëntenfederatie", "kind": "patient-organization", "region": "europe"}
    plain = write("POST", "/admin/members", {**minimal, "country": "NL"}, 201)
    write("PUT", f"/admin/members/{plain}", {**minimal, "country": "BE"})
    event = write("POST", "/admin/events", event_body(organizer=member), 201)
    online = event_body(venue=None, online_url="https://example.org/live", title="Webinar")
    write("DELETE", f"/admin/events/{write('POST', '/admin/events', online, 201)}")
    return {"member": member, "plain": plain, "event": event}


def test_read_responses_validate(node: Node) -> None:
    ids = _populate(node)
    for key in ("member", "plain"):
        r = node.client.get(f"/members/{ids[key]}")
        assert r.status_code == 200, r.text
        assert_valid("member-public.schema.json", r.json())
    r = node.client.get(f"/events/{ids['event']}")
    assert r.status_code == 200, r.text
    assert_valid("event-public.schema.json", r.json())
    items = node.client.get("/members").json()["items"]
    near = node.client.get("/members", params={"near": "51.8,5.8"}).json()["items"]
    assert len(items) == 2 and "distance_km" in near[0]  # only members with coordinates
    for item in items + near:
        assert_valid("member-public.schema.json", item)
    items = node.client.get("/events").json()["items"]
    assert len(items) == 1
    for item in items:
        assert_valid("event-public.schema.json", item)
    for key in ids.values():
        assert_valid("envelope.schema.json", node.client.get(f"/records/{key}").json())


def test_federation_pages_and_exports_validate(node: Node, tmp_path: Path) -> None:
    _populate(node)
    page = node.client.get("/federation/records", params={"origin": node.settings.node_id})
    records = page.json()["records"]
    assert len(records) == 6  # two members, one replaced (a stub); three events, one deleted
    assert any(r["body"] is None and not r["record"]["deleted"] for r in records)  # stub
    assert any(r["record"]["deleted"] for r in records)  # tombstone
    for record in records:
        assert_valid("envelope.schema.json", record)
    out = tmp_path / "export.jsonl"
    hn("export", node.settings.home, "--output", out)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 6
    for line in lines:
        assert_valid("envelope.schema.json", json.loads(line))


@pytest.fixture
def hub(tmp_path: Path, database_url: str, clock: Clock) -> Iterator[Node]:
    """A hub node, whose roster then lists a second node with a rotated key."""
    n = make_node(tmp_path / "hub", database_url, clock, hub=True)
    runtime = n.app.state.runtime
    old, new = keys.generate("ed25519:1"), keys.generate("ed25519:2")
    other = RosterNode(
        node_id=keys.node_id_for(old.public_raw),
        name="Mayo Clinic",
        leader="Mayo Clinic",
        region="north-america",
        url="https://mayo.example",
        keys=[
            RosterKey(key_id="ed25519:1", public_key=old.public_b64, until_seq=41),
            RosterKey(key_id="ed25519:2", public_key=new.public_b64, from_seq=42),
        ],
        latitude=44.0121,
        longitude=-92.4802,
    )
    with Session(writer(runtime.engine)) as session:
        body, _ = roster.current(session, hub=n.settings.node_id)  # type: ignore[misc]
        roster.publish_roster(
            session, settings=n.settings, key=runtime.key, body=with_node(body, other), now=clock()
        )
        session.commit()
    n.app.state.sync.trust.reload()
    yield n
    n.client.close()
    n.engine.dispose()


def test_roster_record_validates(hub: Node) -> None:
    record = hub.client.get("/federation/roster").json()
    assert record["record"]["version"] == 2 and len(record["body"]["nodes"]) == 2
    assert_valid("roster-record.schema.json", record)
    assert_valid("envelope.schema.json", record)
    assert_valid("roster.schema.json", record["body"])
    page = hub.client.get("/federation/records", params={"origin": hub.settings.node_id}).json()
    assert [r["body"] is None for r in page["records"]] == [True, False]  # v1 is a stub now
    for item in page["records"]:
        assert_valid("envelope.schema.json", item)
    assert not validator("roster-record.schema.json").is_valid(page["records"][0])


def test_served_documents_are_the_files(sqlite_node: Node) -> None:
    client = sqlite_node.client
    r = client.get("/schemas/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.content == (PUBLISHED_DIR / "index.json").read_bytes()
    for entry in r.json()["schemas"]:
        doc = client.get(entry["url"])
        assert doc.status_code == 200
        assert doc.headers["content-type"] == "application/schema+json"
        assert doc.content == (PUBLISHED_DIR / entry["name"]).read_bytes()
    assert client.get("/schemas").json() == r.json()  # redirected to /schemas/
    missing = client.get("/schemas/nope.schema.json")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    paths = client.get("/openapi.json").json()["paths"]
    assert "/schemas/" in paths and "/schemas/{name}" in paths
