"""The FHIR R4 view: metadata, read, search, paging and errors (history: test_fhir_history).

Data is created through the admin API; every answer the node serves is validated with the
independent ``fhir.resources`` R4B models (tests/support/fhir.py). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import unicodedata
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session
from support.clock import Clock
from support.factories import add_event, add_member, member_body
from support.fhir import FHIR_JSON, ext, fhir, local, outcome, provenance, validate, walk
from support.nodes import Node

from node.db import fhir as queries
from node.db.tables import RECORDS

ORG_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
KIND = "https://healthnet.example/fhir/CodeSystem/member-kind"
ROLE_URL = "https://healthnet.example/fhir/StructureDefinition/network-role"
SOCIAL_URL = "https://healthnet.example/fhir/StructureDefinition/social-account"


def plain(text: str) -> str:
    """Lower case without accents (Zürich → zurich)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def names(bundle: dict[str, Any]) -> list[str]:
    return sorted(
        e["resource"]["name"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"
    )


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


# --------------------------------------------------------------------------- search


def directory(node: Node, clock: Clock) -> dict[str, str]:
    """Four members a day apart, from 2026-11-24, and two events."""
    made = {}
    for name, country, city in (
        ("Radboud University Medical Center", "NL", "Nijmegen"),
        ("Erasmus MC", "NL", "Rotterdam"),
        ("Charité Berlin", "DE", "Berlin"),
        ("Karolinska Institutet", "SE", "Stockholm"),
    ):
        made[name] = add_member(
            node, name=name, country=country, city=city, latitude=None, longitude=None
        )
        clock.advance(days=1)
    made["berlin event"] = add_event(
        node,
        title="Berlin Summit",
        timezone="Europe/Berlin",
        venue={"city": "Berlin", "country": "DE"},
        organizer=made["Charité Berlin"],
    )
    made["online event"] = add_event(node, venue=None, online_url="https://example.org/live")
    return made


def test_search_organizations_by_name(node: Node, clock: Clock) -> None:
    directory(node, clock)

    def found(**params: Any) -> list[str]:
        return names(fhir(node, "/fhir/Organization", **params))

    assert found(name="radb") == ["Radboud University Medical Center"]
    assert found(name="CHARITE") == ["Charité Berlin"]  # case and accents folded
    assert found(name="MC") == []  # starts with, not contains
    assert found(**{"name:contains": "mc"}) == ["Erasmus MC"]
    assert found(**{"name:exact": "Erasmus MC"}) == ["Erasmus MC"]
    assert found(**{"name:exact": "erasmus mc"}) == []
    assert found(name="radb,karo") == ["Karolinska Institutet", "Radboud University Medical Center"]
    assert found(name="50%") == []  # LIKE wildcards are literal
    assert len(found()) == 4
    assert fhir(node, "/fhir/Organization", name="e")["total"] == 1


def test_search_by_address_country_and_id(node: Node, clock: Clock) -> None:
    made = directory(node, clock)
    orgs = fhir(node, "/fhir/Organization", **{"address-country": "NL"})
    assert orgs["total"] == 2
    assert names(orgs) == ["Erasmus MC", "Radboud University Medical Center"]
    assert names(fhir(node, "/fhir/Organization", **{"address-country": "de"})) == [
        "Charité Berlin"
    ]
    assert fhir(node, "/fhir/Organization", **{"address-country:exact": "de"})["total"] == 0
    locs = fhir(node, "/fhir/Location", **{"address-country": "DE"})
    assert sorted(ids(locs)) == sorted([made["Charité Berlin"], made["berlin event"]])

    both = f"{made['Erasmus MC']},{made['Karolinska Institutet']}"
    assert names(fhir(node, "/fhir/Organization", _id=both)) == [
        "Erasmus MC",
        "Karolinska Institutet",
    ]
    # An event id is not an Organization; the online event has no Location.
    assert ids(fhir(node, "/fhir/Organization", _id=made["berlin event"])) == []
    assert ids(fhir(node, "/fhir/Location", _id=made["online event"])) == []
    assert len(ids(fhir(node, "/fhir/Location"))) == 5  # four sites and one venue


def test_search_locations_by_organization_and_name(node: Node, clock: Clock) -> None:
    made = directory(node, clock)
    charite = made["Charité Berlin"]
    for ref in (charite, f"Organization/{charite}", f"http://x.test/fhir/Organization/{charite}"):
        found = fhir(node, "/fhir/Location", organization=ref)
        assert sorted(ids(found)) == sorted([charite, made["berlin event"]])
    assert ids(fhir(node, "/fhir/Location", name="berlin s")) == [made["berlin event"]]
    issue = outcome(node, "/fhir/Location", 400, organization="Patient/1")
    assert issue["expression"] == ["organization"]
    # organization is a Location parameter, not an Organization one.
    assert outcome(node, "/fhir/Organization", 400, organization=charite)["code"] == "not-supported"


def test_location_name_matches_the_venue_name_and_the_title_as_alias(
    node: Node, clock: Clock
) -> None:
    """``Location?name`` searches ``Location.name | Location.alias`` (HL7's Location-name):
    a venue's own name as well as its event's title, as served."""
    made = directory(node, clock)
    rai = add_event(
        node,
        title="Health Social Media Day Europe",
        venue={"name": "RAI Amsterdam", "city": "Amsterdam", "country": "NL"},
    )
    zurich = add_event(
        node,
        title="Swiss eHealth Summit",
        timezone="Europe/Zurich",
        venue={"name": "Kongresshaus Zürich", "city": "Zürich", "country": "CH"},
    )

    def found(**params: Any) -> list[str]:
        bundle = fhir(node, "/fhir/Location", **params)
        for e in bundle.get("entry", []):  # every match is a match of what is served
            loc = e["resource"]
            served = [loc["name"], *loc.get("alias", [])]
            values = [plain(v) for v in next(iter(params.values())).split(",")]
            assert any(v in plain(n) for v in values for n in served), (loc, params)
        assert bundle["total"] == len(ids(bundle))
        return sorted(ids(bundle))

    assert found(name="RAI") == [rai]  # the venue's own name
    assert found(name="rai amst") == [rai]
    assert found(name="health social") == [rai]  # the title, served as alias
    assert found(name="amsterdam") == []  # starts with, not contains
    assert found(**{"name:contains": "amsterdam"}) == [rai]
    assert found(**{"name:exact": "RAI Amsterdam"}) == [rai]
    assert found(**{"name:exact": "rai amsterdam"}) == []
    assert found(**{"name:exact": "Health Social Media Day Europe"}) == [rai]
    assert found(name="kongresshaus zur") == [zurich]  # accents folded
    assert found(**{"name:contains": "ZÜRICH"}) == [zurich]
    assert found(name="swiss") == [zurich]
    assert found(name="rai,kongress") == sorted([rai, zurich])
    assert found(name="berlin s") == [made["berlin event"]]  # an unnamed venue: the title
    assert found(name="charit") == [made["Charité Berlin"]]  # a member's site
    # Combined with other parameters, and paged.
    assert found(name="rai", **{"address-country": "DE"}) == []
    pages = walk(node, "/fhir/Location", name="r", _count=1)
    assert sorted(i for p in pages for i in ids(p)) == sorted(
        [rai, made["Radboud University Medical Center"]]
    )
    # The venue's name is not an Organization's name, and a deleted event is gone.
    assert ids(fhir(node, "/fhir/Organization", name="RAI")) == []
    assert node.client.delete(f"/admin/events/{rai}", headers=node.editor).status_code == 200
    assert found(name="RAI") == []


def test_search_by_last_updated(node: Node, clock: Clock) -> None:
    made = directory(node, clock)  # members on Nov 24, 25, 26 and 27

    def found(*values: str) -> list[str]:
        query = "&".join(f"_lastUpdated={v}" for v in values)
        r = node.client.get(f"/fhir/Organization?{query}")
        assert r.status_code == 200, r.text
        return names(r.json())

    radboud, erasmus = "Radboud University Medical Center", "Erasmus MC"
    charite, karolinska = "Charité Berlin", "Karolinska Institutet"
    assert found("ge2026-11-26") == [charite, karolinska]
    assert found("gt2026-11-26") == [karolinska]
    assert found("lt2026-11-25") == [radboud]
    assert found("le2026-11-25") == [erasmus, radboud]
    assert found("2026-11-25") == [erasmus]
    assert found("ne2026-11-25") == [charite, karolinska, radboud]
    assert found("ge2026-11-25", "lt2026-11-27") == [charite, erasmus]
    assert found("2026-11") == sorted([radboud, erasmus, charite, karolinska])
    assert found("ge2026-11-25T12:00:00Z") == [charite, erasmus, karolinska]
    assert found("gt2026-11-25T12:00:00Z") == [charite, karolinska]
    assert found("ge2026-11-25T13:00:00%2B01:00") == [charite, erasmus, karolinska]
    # An unescaped "+" in the offset arrives as a space: read as "+", like _format's.
    assert found("ge2026-11-25T13:00:00+01:00") == [charite, erasmus, karolinska]
    assert found("lt2026-11-25T11:00:00-01:00") == [radboud]
    assert found("sa9999") == [] and len(found("le9999")) == 4
    # the Location of Radboud has Radboud's lastUpdated
    locs = fhir(node, "/fhir/Location", _lastUpdated="lt2026-11-25")
    assert ids(locs) == [made[radboud]]
    for bad in (
        "yesterday",
        "2026-13-01",
        "ge2026-11-25,2026-11-26",
        "2026-11-25T25:00Z",
        "ge٢٠٢٦",  # digits of other scripts are not digits here
        "2026-11-25T12:00:00 01",
    ):
        issue = outcome(node, "/fhir/Organization", 400, _lastUpdated=bad)
        assert issue["code"] == "invalid" and issue["expression"] == ["_lastUpdated"]
    assert outcome(node, "/fhir/Organization", 400, _lastUpdated="ap2026")["code"] == (
        "not-supported"
    )


# --------------------------------------------------------------------------- paging


def test_paging_through_next_links_collects_every_match_once(node: Node, clock: Clock) -> None:
    made = [add_member(node, name=f"Member {i:02d}") for i in range(11)]
    pages = walk(node, "/fhir/Organization", _count=4)
    assert [len(ids(p)) for p in pages] == [4, 4, 3]
    assert all(p["total"] == 11 for p in pages)
    assert sorted(i for p in pages for i in ids(p)) == sorted(made)
    assert all(p["link"][0]["relation"] == "self" for p in pages)
    assert "cursor=" in pages[1]["link"][0]["url"]  # the self link names its page

    # Edits while a client pages move nothing: each record is still served exactly once.
    first = fhir(node, "/fhir/Organization", _count=4)
    served = ids(first)
    r = node.client.put(
        f"/admin/members/{served[0]}", json=member_body(name="Renamed"), headers=node.editor
    )
    assert r.status_code == 200
    add_member(node, name="Member 99")
    rest = walk(node, local(next(x["url"] for x in first["link"] if x["relation"] == "next")))
    seen = served + [i for p in rest for i in ids(p)]
    assert len(seen) == len(set(seen)) == 12

    # Filters are kept in the next link, and paging with a filter stays filtered.
    pages = walk(node, "/fhir/Organization", name="member ", _count=3)  # not "Renamed"
    assert [len(ids(p)) for p in pages] == [3, 3, 3, 2]
    assert all("name=member+&" in p["link"][0]["url"] for p in pages)

    # _count=0: only the total.
    only = fhir(node, "/fhir/Organization", _count=0)
    assert only["total"] == 12 and "entry" not in only
    assert "total" not in fhir(node, "/fhir/Organization", _total="none")


def test_cursors_are_bound_to_their_search(node: Node) -> None:
    for i in range(3):
        add_member(node, name=f"Member {i}")
    page = fhir(node, "/fhir/Organization", _count=1)
    nxt = local(next(x["url"] for x in page["link"] if x["relation"] == "next"))
    cursor = nxt.split("cursor=")[1]
    assert outcome(node, "/fhir/Organization", 400, cursor=cursor, name="m")["code"] == "invalid"
    assert outcome(node, "/fhir/Location", 400, cursor=cursor)["expression"] == ["cursor"]
    for garbage in ("abc", "W10", cursor[:-2], "x" * 700):
        assert outcome(node, "/fhir/Organization", 400, cursor=garbage)["code"] == "invalid"


def test_count_above_the_maximum_is_lowered(node: Node) -> None:
    add_member(node)
    for count in ("5000", "1000000", "9" * 5000, "000201"):
        bundle = fhir(node, "/fhir/Organization", _count=count)
        assert bundle["link"][0]["url"].endswith("_count=200"), count
    assert fhir(node, "/fhir/Organization", _count="007")["link"][0]["url"].endswith("_count=7")
    assert fhir(node, "/fhir/_history", _count=10**7)["link"][0]["url"].endswith("_count=200")
    for bad in ("٣", "1٣", "+5", "1e3", "0x10", "5.0"):
        issue = outcome(node, "/fhir/Organization", 400, _count=bad)
        assert issue["expression"] == ["_count"], bad
        assert outcome(node, "/fhir/_history", 400, _count=bad)["expression"] == ["_count"]


# --------------------------------------------------------------------------- errors


def test_unsupported_and_malformed_parameters_are_400(node: Node) -> None:
    add_member(node)
    for params in ({"foo": "1"}, {"_sort": "name"}, {"name:missing": "true"}, {"_include": "*"}):
        issue = outcome(node, "/fhir/Organization", 400, **params)
        assert issue["code"] == "not-supported"
        assert issue["expression"] == [next(iter(params))]
    for params in ({"_count": "ten"}, {"_count": "-1"}, {"_id": "a b"}, {"_total": "all"}):
        assert outcome(node, "/fhir/Organization", 400, **params)["code"] == "invalid"
    assert outcome(node, "/fhir/metadata", 400, mode="full")["code"] == "not-supported"
    assert outcome(node, "/fhir/Organization/x", 400, _elements="name")["code"] == "not-supported"


def test_lenient_handling_ignores_unsupported_parameters_and_says_so(node: Node) -> None:
    add_member(node)
    lenient = {"Prefer": "handling=lenient"}
    r = node.client.get("/fhir/Organization", params={"foo": "1", "name": "rad"}, headers=lenient)
    assert r.status_code == 200
    assert r.headers["preference-applied"] == "handling=lenient"
    bundle = fhir(node, "/fhir/Organization", headers=lenient, foo="1", name="rad")
    assert len(ids(bundle)) == 1 and bundle["total"] == 1
    (warning,) = [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert warning["resource"]["issue"][0]["severity"] == "warning"
    assert "foo" in warning["resource"]["issue"][0]["diagnostics"]
    assert "foo" not in bundle["link"][0]["url"]  # the self link shows what was applied
    # Lenient is about unsupported parameters, not malformed values.
    r = node.client.get("/fhir/Organization", params={"_count": "x"}, headers=lenient)
    assert r.status_code == 400
    fhir(node, "/fhir/metadata", headers=lenient, mode="full")


def test_empty_values_are_ignored_whatever_the_parameter(node: Node) -> None:
    add_member(node)
    for params in (
        {"name": ""},
        {"_count": ""},
        {"_total": ""},
        {"cursor": ""},
        {"_format": ""},
        {"_pretty": " "},
        {"foo": ""},  # an unsupported parameter that asks for nothing
        {"_sort": ""},
        {"organization": ""},
    ):
        bundle = fhir(node, "/fhir/Location", **params)
        assert len(ids(bundle)) == 1 and bundle["total"] == 1, params
        assert bundle["link"][0]["url"].endswith("/fhir/Location?_count=20"), params
    fhir(node, "/fhir/metadata", mode="")
    for params in ({"_since": ""}, {"_at": ""}, {"_type": ""}, {"_count": ""}):
        assert len(fhir(node, "/fhir/_history", **params)["entry"]) == 2, params


def test_ids_and_references_are_checked_whole(node: Node, clock: Clock) -> None:
    made = directory(node, clock)
    charite = made["Charité Berlin"]
    # "$" would have let a trailing newline through.
    assert outcome(node, f"/fhir/Organization/{charite}%0A", 404)["code"] == "not-found"
    r = node.client.head(f"/fhir/Organization/{charite}%0A")
    assert r.status_code == 404
    assert outcome(node, "/fhir/Organization", 400, _id="a\nb")["expression"] == ["_id"]
    for ref in (
        f"/{charite}",
        f"xOrganization/{charite}",
        f"Organization/{charite}/_history/1",
        f"Organization//{charite}",
        f"http://x.test/fhir/Patient/{charite}",
        f"urn:x:Organization/{charite}",
        "Organization/",
    ):
        issue = outcome(node, "/fhir/Location", 400, organization=ref)
        assert issue["expression"] == ["organization"], ref
    found = fhir(node, "/fhir/Location", organization=f"https://x.test/Organization/{charite}")
    assert sorted(ids(found)) == sorted([charite, made["berlin event"]])


def test_problem_handler_is_not_used_for_fhir_errors(node: Node) -> None:
    """Every FHIR error is an OperationOutcome, including unknown FHIR paths."""
    for path in ("/fhir", "/fhir/", "/fhir/Organization/a/b/c"):
        r = node.client.get(path)
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/fhir+json")
        assert r.json()["resourceType"] == "OperationOutcome"
