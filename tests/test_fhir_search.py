"""The FHIR R4 view: search parameters, paging through next links, and malformed or
unsupported parameters (metadata and read: test_fhir; history: test_fhir_history).

Data is created through the admin API; every answer the node serves is validated with the
independent ``fhir.resources`` R4B models (tests/support/fhir.py). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from support.clock import Clock
from support.factories import add_event, add_member, member_body
from support.fhir import fhir, local, outcome, walk
from support.nodes import Node


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
