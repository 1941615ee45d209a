"""The FHIR R4 view: metadata, read and the errors of reads (search and paging:
test_fhir_search; history: test_fhir_history).

Data is created through the admin API; every answer the node serves is validated with the
independent ``fhir.resources`` R4B models (tests/support/fhir.py). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session
from support.clock import Clock
from support.factories import add_event, add_member, member_body
from support.fhir import FHIR_JSON, ext, fhir, local, outcome, provenance, validate
from support.nodes import Node

from node.db import fhir as queries
from node.db.tables import RECORDS

ORG_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
KIND = "https://healthnet.example/fhir/CodeSystem/member-kind"
ROLE_URL = "https://healthnet.example/fhir/StructureDefinition/network-role"
SOCIAL_URL = "https://healthnet.example/fhir/StructureDefinition/social-account"


# --------------------------------------------------------------------------- metadata


def test_metadata_is_a_valid_read_only_r4_capability_statement(node: Node) -> None:
    cs = fhir(node, "/fhir/metadata")
    assert cs["resourceType"] == "CapabilityStatement"
    assert cs["fhirVersion"] == "4.0.1"
    assert cs["kind"] == "instance"
    assert "application/fhir+json" in cs["format"]
    (rest,) = cs["rest"]
    assert rest["mode"] == "server"
    assert rest["interaction"] == [{"code": "history-system"}]
    by_type = {r["type"]: r for r in rest["resource"]}
    assert set(by_type) == {"Organization", "Location"}
    for resource in by_type.values():
        codes = {i["code"] for i in resource["interaction"]}
        assert codes == {"read", "search-type", "history-type"}  # nothing that writes
    org_params = {p["name"] for p in by_type["Organization"]["searchParam"]}
    assert org_params == {"_id", "_lastUpdated", "name", "address-country"}
    loc_params = {p["name"] for p in by_type["Location"]["searchParam"]}
    assert loc_params == org_params | {"organization"}


def test_format_json_is_accepted_and_other_formats_are_406(node: Node) -> None:
    for fmt in ("json", "application/json", "application/fhir+json"):
        assert fhir(node, "/fhir/metadata", _format=fmt)["resourceType"] == "CapabilityStatement"
    # An unescaped '+' in a query string decodes to a space.
    r = node.client.get("/fhir/metadata?_format=application/fhir+json")
    assert r.status_code == 200
    issue = outcome(node, "/fhir/metadata", 406, _format="xml")
    assert issue["code"] == "not-supported"
    pretty = node.client.get("/fhir/metadata", params={"_pretty": "true"})
    assert pretty.text.startswith('{\n  "resourceType"')


# --------------------------------------------------------------------------- read


def test_read_organization_maps_the_member(node: Node) -> None:
    mid = add_member(
        node,
        social=[
            {"platform": "x", "handle": "@radboudumc"},
            {"platform": "youtube", "url": "https://www.youtube.com/radboudumc", "handle": "rumc"},
        ],
        contact={"name": "Press office", "email": "press@radboudumc.nl", "phone": "+31 24 361"},
    )
    r = node.client.get(f"/fhir/Organization/{mid}")
    assert r.headers["etag"] == 'W/"1"'
    assert r.headers["last-modified"] == "Tue, 24 Nov 2026 12:00:00 GMT"
    org = fhir(node, f"/fhir/Organization/{mid}")
    member = node.client.get(f"/members/{mid}").json()

    assert org["id"] == mid
    assert org["name"] == "Radboud University Nijmegen Medical Centre"
    assert org["active"] is True
    assert org["identifier"] == [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{mid}"}]
    assert org["meta"] == {
        "versionId": "1",
        "lastUpdated": member["updated_at"],
        "source": f"urn:healthnet:node:{member['origin']}",
    }
    codings = {c["system"]: c["code"] for c in org["type"][0]["coding"]}
    assert codings == {ORG_TYPE: "prov", KIND: "academic-medical-centre"}
    assert org["address"] == [{"city": "Nijmegen", "country": "NL"}]
    assert ext(org, ROLE_URL)["valueCoding"]["code"] == "community-leader"
    website, x, youtube = org["telecom"]
    assert website == {"system": "url", "value": "https://www.radboudumc.nl", "use": "work"}
    assert (x["system"], x["value"]) == ("other", "@radboudumc")
    assert (youtube["system"], youtube["value"]) == ("url", "https://www.youtube.com/radboudumc")
    social = {s["url"]: s for s in ext(youtube, SOCIAL_URL)["extension"]}
    assert social["platform"]["valueCode"] == "youtube"
    assert social["handle"]["valueString"] == "rumc"
    (contact,) = org["contact"]
    assert contact["name"] == {"text": "Press office"}
    assert {(t["system"], t["value"]) for t in contact["telecom"]} == {
        ("email", "press@radboudumc.nl"),
        ("phone", "+31 24 361"),
    }
    assert "partOf" not in org


def test_member_kinds_map_to_hl7_organization_types(node: Node) -> None:
    expected = {"hospital": "prov", "patient-organization": "cg", "professional-society": "other"}
    for kind, code in expected.items():
        mid = add_member(node, name=f"A {kind}", kind=kind)
        org = fhir(node, f"/fhir/Organization/{mid}")
        codings = {c["system"]: c["code"] for c in org["type"][0]["coding"]}
        assert codings == {ORG_TYPE: code, KIND: kind}


def test_provenance_matches_the_json_api_and_the_signed_envelope(node: Node, clock: Clock) -> None:
    mid = add_member(node)
    clock.advance(minutes=3)
    r = node.client.put(
        f"/admin/members/{mid}",
        json=member_body(city="Arnhem"),
        headers={**node.editor, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    org = fhir(node, f"/fhir/Organization/{mid}")
    member = node.client.get(f"/members/{mid}").json()
    envelope = node.client.get(f"/records/{mid}").json()
    prov = provenance(org)
    assert prov["origin"] == member["origin"] == envelope["record"]["origin"]
    assert prov["seq"] == envelope["record"]["seq"] == 2
    assert prov["keyId"] == envelope["record"]["key_id"]
    assert prov["signature"] == "verified"
    assert prov["received"] == "2026-11-24T12:03:00Z"
    assert local(prov["envelope"]) == f"/records/{mid}"
    assert org["meta"]["versionId"] == "2" == str(envelope["record"]["version"])
    assert org["meta"]["lastUpdated"] == member["updated_at"] == envelope["record"]["issued_at"]
    site = fhir(node, f"/fhir/Location/{mid}")
    assert provenance(site) == prov
    assert site["meta"] == org["meta"]


def test_a_tampered_stored_body_is_reported_as_failed(node: Node) -> None:
    """The signature status is re-checked on read, not merely asserted."""
    mid = add_member(node)
    assert provenance(fhir(node, f"/fhir/Organization/{mid}"))["signature"] == "verified"
    with Session(node.engine) as session:
        body = session.execute(
            RECORDS.select().where(RECORDS.c.record_id == mid, RECORDS.c.current.is_(True))
        ).one()
        session.execute(
            update(RECORDS)
            .where(RECORDS.c.origin == body.origin, RECORDS.c.seq == body.seq)
            .values(body=body.body.replace("Nijmegen", "Utrecht"))
        )
        session.commit()
    org = fhir(node, f"/fhir/Organization/{mid}")
    assert provenance(org)["signature"] == "failed"


def test_read_locations_of_a_member_site_and_an_event_venue(node: Node) -> None:
    mid = add_member(node)
    site = fhir(node, f"/fhir/Location/{mid}")
    assert site["id"] == mid
    assert site["name"] == "Radboud University Nijmegen Medical Centre"
    assert site["status"] == "active"
    assert site["position"] == {"latitude": 51.8426, "longitude": 5.8528}
    assert site["address"] == {"city": "Nijmegen", "country": "NL"}
    assert site["managingOrganization"]["reference"] == f"Organization/{mid}"
    assert site["type"][0]["coding"][0]["code"] == "member-site"

    venue = {"name": "De Vereeniging", "city": "Nijmegen", "country": "NL"}
    eid = add_event(node, venue=venue, organizer=mid, status="cancelled")
    loc = fhir(node, f"/fhir/Location/{eid}")
    assert loc["name"] == "De Vereeniging"
    assert loc["alias"] == ["Health Social Media Day Europe"]
    assert loc["status"] == "inactive"  # the event is cancelled
    assert "position" not in loc  # the venue has no coordinates
    assert loc["managingOrganization"] == {"reference": f"Organization/{mid}"}
    assert loc["type"][0]["coding"][0]["code"] == "event-venue"

    unnamed = add_event(node)
    loc = fhir(node, f"/fhir/Location/{unnamed}")
    assert loc["name"] == "Health Social Media Day Europe" and "alias" not in loc
    assert loc["position"] == {"latitude": 51.82, "longitude": 5.86}
    assert "managingOrganization" not in loc

    online = add_event(node, venue=None, online_url="https://example.org/live")
    assert outcome(node, f"/fhir/Location/{online}", 404)["code"] == "not-found"
    nowhere = add_member(node, name="Nowhere", city=None, latitude=None, longitude=None)
    assert outcome(node, f"/fhir/Location/{nowhere}", 404)["code"] == "not-found"
    fhir(
        node,
        f"/fhir/Location/{add_member(node, name='Only a city', latitude=None, longitude=None)}",
    )


def test_unknown_ids_are_404_and_deleted_records_410(node: Node) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert outcome(node, f"/fhir/Organization/{missing}", 404)["code"] == "not-found"
    assert outcome(node, "/fhir/Organization/not an id!", 404)["code"] == "not-found"
    eid = add_event(node)
    assert outcome(node, f"/fhir/Organization/{eid}", 404)["code"] == "not-found"
    assert outcome(node, "/fhir/Patient/1", 404)["code"] == "not-supported"
    assert outcome(node, "/fhir/Patient", 404)["code"] == "not-supported"
    assert outcome(node, "/fhir/Organization/x/_history/1", 404)["code"] == "not-supported"

    mid = add_member(node)
    fhir(node, f"/fhir/Organization/{mid}")
    assert node.client.delete(f"/admin/members/{mid}", headers=node.editor).status_code == 200
    assert outcome(node, f"/fhir/Organization/{mid}", 410)["code"] == "deleted"
    assert outcome(node, f"/fhir/Location/{mid}", 410)["code"] == "deleted"
    # A member that loses its site: the Location is gone, as the history says.
    other = add_member(node, name="Moving")
    r = node.client.put(
        f"/admin/members/{other}",
        json=member_body(name="Moving", city=None, latitude=None, longitude=None),
        headers=node.editor,
    )
    assert r.status_code == 200
    assert outcome(node, f"/fhir/Location/{other}", 410)["code"] == "deleted"


def test_writes_and_other_methods_are_refused_with_405(node: Node) -> None:
    for method, path in [(m, "/fhir/Organization") for m in ("POST", "PUT", "DELETE", "PATCH")] + [
        ("POST", "/fhir"),  # a transaction or batch Bundle
        ("PUT", "/fhir/Organization/x"),
        ("OPTIONS", "/fhir/metadata"),
        ("OPTIONS", "/fhir"),
        ("TRACE", "/fhir/Organization/x"),
        ("PROPFIND", "/fhir/Location"),  # a method no route names
        ("DELETE", "/fhir/Patient/1"),
    ]:
        r = node.client.request(method, path, json={"resourceType": "Bundle"})
        assert r.status_code == 405, (method, path, r.text)
        assert r.headers["content-type"].startswith(FHIR_JSON)
        assert r.headers["allow"] == "GET, HEAD"
        issue = validate(r.json())["issue"][0]
        assert issue["code"] == "not-supported" and issue["severity"] == "error"
        assert method in issue["diagnostics"] or "read-only" in issue["diagnostics"]


def test_head_answers_what_get_answers_without_the_body(node: Node) -> None:
    mid = add_member(node)
    for path, status in (
        (f"/fhir/Organization/{mid}", 200),
        (f"/fhir/Location/{mid}", 200),
        ("/fhir/Organization?name=rad", 200),
        ("/fhir/_history?_count=1", 200),
        ("/fhir/Location/_history", 200),
        ("/fhir/metadata", 200),
        ("/fhir/Organization/00000000-0000-4000-8000-000000000000", 404),
        ("/fhir/Patient", 404),
        ("/fhir", 404),
        ("/fhir/Organization?_count=x", 400),
    ):
        get, head = node.client.get(path), node.client.head(path)
        assert (get.status_code, head.status_code) == (status, status), path
        assert head.content == b"", path
        assert head.headers["content-length"] == str(len(get.content)), path
        for name in ("content-type", "etag", "last-modified"):
            assert head.headers.get(name) == get.headers.get(name), (path, name)
    lenient = node.client.head("/fhir/metadata?foo=1", headers={"Prefer": "handling=lenient"})
    assert lenient.headers["preference-applied"] == "handling=lenient"


def test_fhir_operations_in_the_openapi_document_are_get_only(node: Node) -> None:
    """HEAD routes are left out of the OpenAPI document; operation ids stay unique."""
    doc = node.client.get("/openapi.json").json()
    fhir_paths = {p: ops for p, ops in doc["paths"].items() if p.startswith("/fhir")}
    assert "/fhir/metadata" in fhir_paths
    assert all(set(ops) == {"get"} for ops in fhir_paths.values()), fhir_paths
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))


def test_an_unexpected_error_is_a_500_operation_outcome_without_details(
    node: Node, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret: password=hunter2 at /var/lib/healthnet/node.db")

    monkeypatch.setattr(queries, "search", broken)
    with caplog.at_level(logging.ERROR, logger="node.api.fhir"):
        r = node.client.get("/fhir/Organization", params={"name": "x"})
    assert r.status_code == 500
    assert r.headers["content-type"].startswith(FHIR_JSON)
    body = validate(r.json())
    assert body == {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "exception", "diagnostics": "internal error"}],
    }
    assert "hunter2" not in r.text and "RuntimeError" not in r.text
    assert any("hunter2" in (rec.exc_text or "") for rec in caplog.records)  # logged
    assert node.client.head("/fhir/Organization").status_code == 500
