"""The admin write API on both backends: signed results, dense sequence numbers, optimistic
concurrency and charter scope (bearer-token auth and the audit log: test_admin_auth)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from support.admin_writes import create_member, last_seq, node_info, put_member
from support.factories import event_body, member_body
from support.nodes import Node
from support.problems import assert_problem

from federation.errors import HealthnetError
from federation.keys import public_key
from federation.signing import verify_envelope
from node.db.tables import RECORDS

# --- helpers -------------------------------------------------------------------------------


def record_seqs(node: Node) -> list[int]:
    with node.engine.connect() as conn:
        return [row[0] for row in conn.execute(select(RECORDS.c.seq).order_by(RECORDS.c.seq))]


def verify(node: Node, envelope: dict[str, Any]) -> None:
    verify_envelope(envelope, public_key(node_info(node)["public_key"]))


def create_event(node: Node, **overrides: object) -> dict[str, Any]:
    r = node.client.post("/admin/events", json=event_body(**overrides), headers=node.editor)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def error_fields(r: Any) -> list[str]:
    return [e["field"] for e in assert_problem(r, 422)["errors"]]


MAYO = {
    "name": "Mayo Clinic",
    "kind": "academic-medical-centre",
    "region": "north-america",
    "country": "US",
    "city": "Rochester",
    "latitude": 44.0225,
    "longitude": -92.4699,
    "website": "https://www.mayoclinic.org",
    "languages": ["en"],
}


# --- writes --------------------------------------------------------------------------------


def test_create_returns_a_signed_envelope_that_verifies(node: Node) -> None:
    info = node_info(node)
    r = node.client.post("/admin/members", json=member_body(), headers=node.editor)
    assert r.status_code == 201, r.text
    res = r.json()
    assert set(res) == {"id", "kind", "version", "seq", "deleted", "record"}
    assert res["kind"] == "member" and res["version"] == 1 and res["seq"] == 1
    assert res["deleted"] is False
    uuid.UUID(res["id"])

    env = res["record"]
    header = env["record"]
    assert header["id"] == res["id"] and header["seq"] == 1 and header["version"] == 1
    assert header["origin"] == info["node_id"] and header["key_id"] == info["key_id"]
    assert header["deleted"] is False and header["body_hash"].startswith("sha256:")
    assert header["issued_at"] == "2026-11-24T12:00:00Z"  # the injected clock
    assert env["body"]["name"] == member_body()["name"]
    verify(node, env)

    # The verification is real: a changed body or header no longer verifies.
    tampered = copy.deepcopy(env)
    tampered["body"]["city"] = "Arnhem"
    with pytest.raises(HealthnetError):
        verify(node, tampered)
    tampered = copy.deepcopy(env)
    tampered["record"]["seq"] = 2
    with pytest.raises(HealthnetError):
        verify(node, tampered)

    # The public signed record is the same envelope.
    assert node.client.get(f"/records/{res['id']}").json() == env


def test_every_write_takes_the_next_sequence_number_across_kinds(node: Node) -> None:
    c = node.client
    seqs = []
    m1 = create_member(node)
    seqs.append(m1["seq"])
    e1 = create_event(node)
    seqs.append(e1["seq"])
    r = put_member(node, m1["id"], city="Arnhem")
    seqs.append(r.json()["seq"])
    r = c.delete(f"/admin/events/{e1['id']}", headers=node.editor)
    seqs.append(r.json()["seq"])
    m2 = create_member(
        node, name="Maastricht UMC+", city="Maastricht", latitude=50.83, longitude=5.71
    )
    seqs.append(m2["seq"])
    e2 = create_event(node, organizer=m2["id"])
    seqs.append(e2["seq"])
    r = c.put(f"/admin/events/{e2['id']}", json=event_body(title="HSMD 2027"), headers=node.admin)
    seqs.append(r.json()["seq"])

    assert seqs == [1, 2, 3, 4, 5, 6, 7]
    assert last_seq(node) == 7
    # Every number is held by exactly one record row (superseded versions stay as stubs).
    assert record_seqs(node) == [1, 2, 3, 4, 5, 6, 7]
    info = node_info(node)
    assert (info["members"], info["events"]) == (2, 1)


def test_update_increments_version_and_replaces_the_body(node: Node) -> None:
    c = node.client
    mid = create_member(node)["id"]
    r = put_member(node, mid, city="Arnhem")
    assert r.status_code == 200, r.text
    res = r.json()
    assert (res["id"], res["version"], res["seq"], res["deleted"]) == (mid, 2, 2, False)
    assert res["record"]["body"]["city"] == "Arnhem"
    verify(node, res["record"])

    r = put_member(node, mid, city="Utrecht")
    assert (r.json()["version"], r.json()["seq"]) == (3, 3)
    got = c.get(f"/members/{mid}")
    assert got.status_code == 200
    assert got.json()["city"] == "Utrecht" and got.json()["version"] == 3
    assert got.headers["etag"] == '"3"'
    assert c.get(f"/records/{mid}").json()["record"]["version"] == 3
    assert c.get("/members", params={"q": "arnhem", "count": True}).json()["total"] == 0


def test_delete_leaves_a_signed_tombstone_and_hides_the_member(node: Node) -> None:
    c = node.client
    mid = create_member(node)["id"]
    assert c.get("/members", params={"q": "radboud", "count": True}).json()["total"] == 1

    r = c.delete(f"/admin/members/{mid}", headers=node.editor)
    assert r.status_code == 200, r.text
    res = r.json()
    assert (res["id"], res["version"], res["seq"], res["deleted"]) == (mid, 2, 2, True)
    assert res["record"]["body"] is None
    verify(node, res["record"])

    rec = c.get(f"/records/{mid}")
    assert rec.status_code == 200
    tomb = rec.json()
    assert tomb["record"]["deleted"] is True and tomb["body"] is None
    assert tomb["record"]["body_hash"] is None and tomb["record"]["version"] == 2
    verify(node, tomb)

    assert_problem(c.get(f"/members/{mid}"), 404)
    assert c.get("/members", params={"q": "radboud", "count": True}).json()["total"] == 0
    assert c.get("/members", params={"count": True}).json()["items"] == []
    assert node_info(node)["members"] == 0


def test_event_create_and_delete(node: Node) -> None:
    c = node.client
    res = create_event(node)
    eid = res["id"]
    assert res["kind"] == "event" and res["version"] == 1 and res["seq"] == 1
    assert res["record"]["body"]["title"] == event_body()["title"]
    verify(node, res["record"])
    got = c.get(f"/events/{eid}")
    assert got.status_code == 200 and got.json()["starts_at_utc"] == "2027-03-10T08:00:00Z"

    r = c.delete(f"/admin/events/{eid}", headers=node.editor)
    assert r.status_code == 200 and r.json()["deleted"] is True
    assert (r.json()["version"], r.json()["seq"]) == (2, 2)
    tomb = c.get(f"/records/{eid}").json()
    assert tomb["body"] is None and tomb["record"]["deleted"] is True
    verify(node, tomb)
    assert_problem(c.get(f"/events/{eid}"), 404)
    assert c.get("/events", params={"count": True}).json()["total"] == 0


def test_writes_to_deleted_or_missing_records_are_404_and_write_nothing(node: Node) -> None:
    c = node.client
    mid = create_member(node)["id"]
    assert c.delete(f"/admin/members/{mid}", headers=node.editor).status_code == 200

    assert_problem(c.delete(f"/admin/members/{mid}", headers=node.editor), 404)
    assert_problem(put_member(node, mid, city="Arnhem"), 404)
    assert_problem(put_member(node, mid, if_match='"2"', city="Arnhem"), 404)
    missing = str(uuid.uuid4())
    assert_problem(put_member(node, missing), 404)
    assert_problem(c.delete(f"/admin/members/{missing}", headers=node.editor), 404)
    assert_problem(c.delete(f"/admin/events/{missing}", headers=node.editor), 404)

    assert last_seq(node) == 2
    assert record_seqs(node) == [1, 2]
    assert c.get(f"/records/{mid}").json()["record"]["version"] == 2


def test_member_and_event_endpoints_do_not_cross_kinds(node: Node) -> None:
    c = node.client
    eid = create_event(node)["id"]
    mid = create_member(node)["id"]

    assert_problem(put_member(node, eid), 404)
    assert_problem(c.delete(f"/admin/members/{eid}", headers=node.editor), 404)
    assert_problem(c.put(f"/admin/events/{mid}", json=event_body(), headers=node.editor), 404)
    assert_problem(c.delete(f"/admin/events/{mid}", headers=node.editor), 404)
    assert_problem(c.get(f"/members/{eid}"), 404)
    assert_problem(c.get(f"/events/{mid}"), 404)

    assert last_seq(node) == 2
    assert c.get(f"/events/{eid}").json()["version"] == 1
    assert c.get(f"/members/{mid}").json()["version"] == 1


# --- optimistic concurrency ------------------------------------------------------------------


def test_stale_if_match_is_409_with_the_current_version_and_writes_nothing(node: Node) -> None:
    c = node.client
    mid = create_member(node)["id"]
    assert put_member(node, mid, if_match='"1"', city="Arnhem").json()["version"] == 2
    seq_before = last_seq(node)

    r = put_member(node, mid, if_match='"1"', city="Utrecht")
    body = assert_problem(r, 409)
    assert body["current_version"] == 2

    r = c.delete(f"/admin/members/{mid}", headers={**node.editor, "If-Match": '"1"'})
    assert assert_problem(r, 409)["current_version"] == 2

    assert last_seq(node) == seq_before == 2
    assert record_seqs(node) == [1, 2]
    got = c.get(f"/members/{mid}").json()
    assert got["city"] == "Arnhem" and got["version"] == 2
    assert c.get(f"/records/{mid}").json()["record"]["version"] == 2

    # The refused write left no gap: the next write takes seq 3.
    r = put_member(node, mid, if_match='"2"', city="Utrecht")
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["seq"]) == (3, 3)


def test_matching_wildcard_and_absent_if_match_are_accepted(node: Node) -> None:
    c = node.client
    mid = create_member(node)["id"]
    versions = []
    for if_match in ('"1"', "2", "*", None, ' "5" '):
        r = put_member(node, mid, if_match=if_match, city=f"City {len(versions)}")
        assert r.status_code == 200, (if_match, r.text)
        versions.append(r.json()["version"])
    assert versions == [2, 3, 4, 5, 6]
    r = c.delete(f"/admin/members/{mid}", headers={**node.editor, "If-Match": '"6"'})
    assert r.status_code == 200 and r.json()["version"] == 7


MALFORMED_IF_MATCH = ["abc", '"0"', '"-1"', '"1.0"', '"1", "2"', "", '"99999999999999999"']


def test_malformed_if_match_is_422_naming_the_header(node: Node) -> None:
    c = node.client
    mid = create_member(node)["id"]
    for if_match in MALFORMED_IF_MATCH:
        r = put_member(node, mid, if_match=if_match)
        assert error_fields(r) == ["header.if-match"], if_match
        r = c.delete(f"/admin/members/{mid}", headers={**node.editor, "If-Match": if_match})
        assert error_fields(r) == ["header.if-match"], if_match
    assert last_seq(node) == 1
    assert c.get(f"/members/{mid}").json()["version"] == 1


# --- charter scope and references ------------------------------------------------------------


def test_records_outside_the_node_region_are_422_naming_region(node: Node) -> None:
    r = node.client.post("/admin/members", json=MAYO, headers=node.editor)
    assert error_fields(r) == ["body.region"]
    body = event_body(
        region="north-america",
        timezone="America/Chicago",
        venue={"city": "Rochester", "country": "US", "latitude": 44.02, "longitude": -92.47},
    )
    r = node.client.post("/admin/events", json=body, headers=node.editor)
    assert error_fields(r) == ["body.region"]
    assert last_seq(node) == 0


def test_country_outside_the_declared_region_is_422_naming_country(node: Node) -> None:
    r = node.client.post("/admin/members", json=member_body(country="US"), headers=node.editor)
    assert error_fields(r) == ["body.country"]
    mid = create_member(node)["id"]
    assert error_fields(put_member(node, mid, country="JP")) == ["body.country"]
    # An event's venue is held to the same rule.
    venue = {"city": "Boston", "country": "US"}
    r = node.client.post("/admin/events", json=event_body(venue=venue), headers=node.editor)
    assert [f for f in error_fields(r) if f.startswith("body.venue")]
    assert last_seq(node) == 1


def test_event_organizer_must_be_a_live_member(node: Node) -> None:
    c = node.client
    r = c.post("/admin/events", json=event_body(organizer=str(uuid.uuid4())), headers=node.editor)
    assert error_fields(r) == ["body.organizer"]

    mid = create_member(node)["id"]
    ev = create_event(node, organizer=mid)
    assert ev["record"]["body"]["organizer"] == mid

    # Another event is not a member; neither is a deleted member.
    r = c.post("/admin/events", json=event_body(organizer=ev["id"]), headers=node.editor)
    assert error_fields(r) == ["body.organizer"]
    assert c.delete(f"/admin/members/{mid}", headers=node.editor).status_code == 200
    r = c.put(f"/admin/events/{ev['id']}", json=event_body(organizer=mid), headers=node.editor)
    assert error_fields(r) == ["body.organizer"]
    assert last_seq(node) == 3
