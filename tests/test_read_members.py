"""The public member directory: GET /members, GET /members/{id} and GET /records/{id}.

Data is created through the admin API; every test runs on SQLite and on PostgreSQL unless
it only checks request validation (which never reaches the database).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.clock import Clock
from support.factories import member_body
from support.nodes import Node, make_node
from support.problems import assert_problem

from federation.canonical import b64url, b64url_decode
from federation.errors import BadSignature, BodyMismatch
from federation.keys import generate, public_key
from federation.signing import verify_envelope
from node.db import search
from schemas.geo import EARTH_RADIUS_KM, Region, haversine_km

# --------------------------------------------------------------------------- helpers


def add(node: Node, **fields: Any) -> str:
    r = node.client.post("/admin/members", json=member_body(**fields), headers=node.editor)
    assert r.status_code == 201, r.text
    mid: str = r.json()["id"]
    return mid


def page(node: Node, **params: Any) -> dict[str, Any]:
    r = node.client.get("/members", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def items(node: Node, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page(node, **{"limit": 200, **params})["items"]
    return found


def names(node: Node, **params: Any) -> list[str]:
    return [m["name"] for m in items(node, **params)]


def walk(node: Node, **params: Any) -> list[dict[str, Any]]:
    """Every item of a listing, following ``next_cursor`` page by page."""
    out: list[dict[str, Any]] = []
    cursor = None
    for _ in range(500):
        body = page(node, **params, **({"cursor": cursor} if cursor else {}))
        assert len(body["items"]) <= params.get("limit", 20)
        out.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return out
        assert body["items"], "a page with a next_cursor must not be empty"
    raise AssertionError("pagination did not end")


@pytest.fixture
def region_node(tmp_path: Path, database_url: str, clock: Clock) -> Iterator[Callable[..., Node]]:
    """Build one node of another region on this test's database (instead of ``node``)."""
    made: list[Node] = []

    def build(region: Region, name: str) -> Node:
        assert not made, "one node per database"
        n = make_node(tmp_path / "h2", database_url, clock, region=region, name=name)
        made.append(n)
        return n

    yield build
    for n in made:
        n.client.close()
        n.engine.dispose()


# --------------------------------------------------------------------------- filters


def test_filters_alone_combined_and_counted(node: Node) -> None:
    a = add(node, name="Amsterdam UMC", kind="academic-medical-centre", country="NL",
            city="Amsterdam", network_role="hub", topics=["oncology", "patient engagement"],
            languages=["nl", "en"])
    b = add(node, name="Brussels Patient Forum", kind="patient-organization", country="BE",
            city="Brussels", network_role="member", topics=["patient engagement"],
            languages=["fr", "nl"])
    c = add(node, name="Charité Berlin", kind="academic-medical-centre", country="DE",
            city="Berlin", network_role="charter-member", topics=["oncology"],
            languages=["de"])
    d = add(node, name="Dublin Clinic", kind="clinic", country="IE", city="Dublin",
            network_role="member", topics=[], languages=["en", "ga"])
    e = add(node, name="Porto Health Society", kind="professional-society", country="PT",
            city="Porto", network_role="community-leader", topics=["digital health"],
            languages=["pt-PT"])

    def ids(**params: Any) -> list[str]:
        return [m["id"] for m in items(node, **params)]

    assert ids() == [a, b, c, d, e]  # alphabetical by name
    assert ids(region="europe") == [a, b, c, d, e]
    assert ids(region="asia") == []
    assert ids(country="NL") == [a]
    assert ids(country="nl") == [a]  # case-insensitive
    assert ids(country="De") == [c]
    assert ids(country="FR") == []
    assert ids(kind="academic-medical-centre") == [a, c]
    assert ids(kind="clinic") == [d]
    assert ids(kind="hospital") == []
    assert ids(role="member") == [b, d]
    assert ids(role="hub") == [a]
    assert ids(topic="oncology") == [a, c]
    assert ids(topic="patient engagement") == [a, b]
    assert ids(topic="onco") == []  # a topic is matched whole, not as a prefix
    assert ids(language="nl") == [a, b]
    assert ids(language="pt-PT") == [e]
    assert ids(language="ga") == [d]
    # combined filters are ANDed
    assert ids(kind="academic-medical-centre", topic="oncology", language="de") == [c]
    assert ids(kind="academic-medical-centre", language="en") == [a]
    assert ids(country="NL", role="member") == []
    assert ids(role="member", language="en") == [d]
    assert ids(region="europe", topic="patient engagement", country="be") == [b]

    assert page(node)["total"] is None  # only counted on request
    assert page(node, count=True)["total"] == 5
    assert page(node, count="true", limit=1)["total"] == 5  # total of matches, not of the page
    assert page(node, count=True, kind="academic-medical-centre")["total"] == 2
    assert page(node, count=True, topic="oncology", country="DE")["total"] == 1
    assert page(node, count=True, language="xx")["total"] == 0

    # the filters follow updates and deletes
    r = node.client.put(f"/admin/members/{a}", headers=node.editor, json=member_body(
        name="Amsterdam UMC", kind="clinic", country="BE", city="Antwerp",
        network_role="member", topics=["cardiology"], languages=["en"]))
    assert r.status_code == 200, r.text
    assert ids(topic="oncology") == [c]
    assert ids(language="nl") == [b]
    assert ids(country="NL") == []
    assert ids(role="hub") == []
    assert ids(kind="academic-medical-centre") == [c]
    assert ids(topic="cardiology", language="en", country="BE", kind="clinic",
               role="member") == [a]
    assert node.client.delete(f"/admin/members/{d}", headers=node.editor).status_code == 200
    assert ids(role="member") == [a, b]
    assert ids(language="ga") == []
    assert page(node, count=True)["total"] == 4


def test_language_filter_is_case_insensitive(node: Node) -> None:
    mid = add(node, languages=["pt-BR", "en"])
    assert [m["id"] for m in items(node, language="pt-BR")] == [mid]  # passes
    assert [m["id"] for m in items(node, language="pt-br")] == [mid]
    assert [m["id"] for m in items(node, language="EN")] == [mid]


def test_invalid_query_parameters_are_422_problems(sqlite_node: Node) -> None:
    add(sqlite_node)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"kind": "hospice"}, "query.kind"),
        ({"role": "owner"}, "query.role"),
        ({"region": "antarctica"}, "query.region"),
        ({"country": "NLD"}, "query.country"),
        ({"country": "N1"}, "query.country"),
        ({"limit": 0}, "query.limit"),
        ({"limit": 201}, "query.limit"),  # the node's max_page_size is 200
        ({"limit": 1000}, "query.limit"),
        ({"limit": 5000}, "query.limit"),
        ({"limit": "ten"}, "query.limit"),
        ({"count": "maybe"}, "query.count"),
        ({"q": "x" * 201}, "query.q"),
        ({"near": "52,5", "within_km": 0}, "query.within_km"),
        ({"near": "52,5", "within_km": -5}, "query.within_km"),
        ({"near": "52,5", "within_km": 20041}, "query.within_km"),
        ({"near": "abc"}, "query.near"),
        ({"near": "91,0"}, "query.near"),
        ({"near": "-90.5,0"}, "query.near"),
        ({"near": "0,180.01"}, "query.near"),
        ({"near": "1,2,3"}, "query.near"),
        ({"near": "1,"}, "query.near"),
        ({"near": ""}, "query.near"),
        ({"near": "1;2"}, "query.near"),
        ({"near": "nan,nan"}, "query.near"),
        ({"near": "inf,0"}, "query.near"),
    ]
    for params, field in cases:
        assert_problem(sqlite_node.client.get("/members", params=params), 422, field)
    # the edges themselves are fine
    assert sqlite_node.client.get("/members", params={"limit": 200}).status_code == 200
    assert sqlite_node.client.get("/members", params={"limit": 1}).status_code == 200
    for near in ("90,180", "-90,-180", " 51.8 , 5.8 "):
        assert sqlite_node.client.get("/members", params={"near": near}).status_code == 200


# --------------------------------------------------------------------------- full text


def test_q_folds_case_and_accents_prefix_matches_every_word_in_any_field(node: Node) -> None:
    nij = add(node)  # Radboud University Nijmegen Medical Centre, city Nijmegen, @radboudumc
    hop = add(node, name="Hôpital Universitaire de Genève", country="CH", city="Genève",
              latitude=46.19, longitude=6.15, social=[], topics=[])
    zur = add(node, name="UNIVERSITÄTSSPITAL ZÜRICH", country="CH", city="Zürich",
              latitude=47.37, longitude=8.54, social=[], topics=[])
    ams = add(node, name="Amsterdam Medical Centre", city="Amsterdam", social=[],
              topics=["cardiology"])
    rot = add(node, name="Rotterdam Radiology Group", city="Rotterdam", social=[], topics=[])
    one = add(node, name="Generic Org One", city="Maastricht", topics=["telehealth"],
              description="Pioneers of xenotransplantation research since 1990.",
              social=[{"platform": "x", "handle": "@zorgvoorbeeld"},
                      {"platform": "youtube", "url": "https://youtube.com/@other"}])
    two = add(node, name="Generic Org Two", city="Utrecht", topics=["oncology"],
              social=[{"platform": "x", "handle": "@another"}])

    def ids(q: str) -> set[str]:
        return {m["id"] for m in items(node, q=q)}

    # case and accents
    assert ids("NIJMEGEN") == {nij}
    assert ids("nijmegen") == {nij}
    assert ids("NiJmÉgEn") == {nij}
    assert ids("hopital") == {hop}
    assert ids("HÔPITAL") == {hop}
    assert ids("hÖpItAl geneve") == {hop}
    assert ids("geneve") == {hop}
    assert ids("universitatsspital zurich") == {zur}
    assert ids("Universitätsspital") == {zur}
    assert ids("lyon") == set()
    # prefixes
    assert ids("universit") == {nij, hop, zur}
    assert ids("radb") == {nij}
    assert ids("Radboud") == {nij}
    assert ids("rad") == {nij, rot}  # Radboud, Radiology
    assert ids("radboudx") == set()
    # every word must match, in any order
    assert ids("medical") == {nij, ams}
    assert ids("medical amsterdam") == {ams}
    assert ids("amst medic") == {ams}
    assert ids("medic amst") == {ams}
    assert ids("medical rotterdam") == set()
    assert ids("radiology rotterdam group") == {rot}
    assert ids("radboud cardiology") == set()  # words may not be split across members
    assert ids("   medical    centre   ") == {nij, ams}
    assert page(node, q="medical", count=True)["total"] == 2
    # city, topics, description and social handles are searched too
    assert ids("maastricht") == {one}  # city
    assert ids("telehea") == {one}  # topic
    assert ids("xenotransplant") == {one}  # description
    assert ids("1990") == {one}
    assert ids("zorgvoorbeeld") == {one}  # social handle
    assert ids("@zorgvoorbeeld") == {one}
    assert ids("radboudumc") == {nij}
    assert ids("utrecht") == {two}
    assert ids("oncology") == {two}
    assert ids("cardio") == {ams}
    assert ids("generic") == {one, two}
    assert ids("generic maastricht") == {one}  # a name word AND a city word
    assert ids("generic telehealth xenotransplantation") == {one}


def test_q_finds_words_inside_handles_urls_and_compounds(node: Node) -> None:
    mid = add(node, name="UZ Leuven/KU Leuven", country="BE", city="Leuven", topics=[],
              social=[{"platform": "mastodon", "handle": "@uzleuven@mastodon.social"}],
              description="See www.patientvoices.org; covid-19 research; mail info@zorgnet.be")
    add(node, name="Unrelated Clinic", social=[], topics=[])
    missing = [q for q in ("ku", "mastodon", "social", "patientvoices", "zorgnet", "19")
               if [m["id"] for m in items(node, q=q)] != [mid]]
    assert missing == []


# On SQLite a search with few matches looks them up by rowid, one with many walks the name
# index (node.db.search.FEW_MATCHES); a bound of 1 sends every search down the second path.
@pytest.mark.parametrize("few_matches", [search.FEW_MATCHES, 1], ids=["lookup", "walk"])
def test_q_ranks_name_matches_first_then_alphabetically(
    node: Node, few_matches: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "FEW_MATCHES", few_matches)
    n1 = add(node, name="Amsterdam Cardio Centre", city="Amsterdam", social=[], topics=[])
    n2 = add(node, name="Cardio Clinic", city="Amsterdam", social=[], topics=[])
    n3 = add(node, name="Aardvark Clinic", city="Delft", social=[], topics=[],
             description="Cardio care in Amsterdam")
    n4 = add(node, name="Zaandam Cardiologie Amsterdam Noord", city="Zaandam", social=[],
             topics=[])
    n5 = add(node, name="Berlin Heart", country="DE", city="Berlin", social=[], topics=[])
    n6 = add(node, name="Abacus Health", city="Haarlem", social=[], topics=["cardiology"])

    def ids(**params: Any) -> list[str]:
        return [m["id"] for m in items(node, **params)]

    # single word: names containing it (alphabetical), then other-field matches (alphabetical)
    assert ids(q="cardio") == [n1, n2, n4, n3, n6]
    # several words: tier 0 only if every word is in the name
    assert ids(q="cardio amsterdam") == [n1, n4, n3, n2]
    assert ids(q="amsterdam") == [n1, n4, n3, n2]
    assert ids(q="berlin") == [n5]
    # the ranking holds across pages too
    assert [m["id"] for m in walk(node, q="cardio", limit=2)] == [n1, n2, n4, n3, n6]
    assert [m["id"] for m in walk(node, q="cardio amsterdam", limit=1)] == [n1, n4, n3, n2]


def test_q_syntax_characters_are_plain_words(node: Node) -> None:
    near = add(node, name="Near And Far Clinic", social=[], topics=[])
    mary = add(node, name="Mary's Hospital", social=[], topics=[])
    oranje = add(node, name="Oranje Ziekenhuis", social=[], topics=[])
    everyone = {near, mary, oranje}
    cases: list[tuple[str, set[str]]] = [
        ('"near"', {near}),
        ('"near', {near}),
        ("near*", {near}),
        ("NEAR", {near}),
        ("NEAR(near far)", {near}),
        ("near AND far", {near}),
        ("far NOT clinic", set()),  # NOT is a word, and no member has it
        ("near OR oranje", set()),  # OR is a word, and no member has all three
        ("(far)", {near}),
        ("-far", {near}),  # not a negation
        ("far -clinic", {near}),
        ("far:*", {near}),
        ("far:A", {near}),  # words "far" and "a"; "and" in the name has the prefix "a"
        ("^far", {near}),
        ("far + clinic", {near}),
        ("far & !clinic", {near}),
        ("far | oranje", set()),
        ("near <-> far", {near}),
        ("{sort_name}: far", set()),
        ("sort_name:far", set()),
        ("far\\", {near}),
        ("Mary's", {mary}),
        ("mary's hospital", {mary}),
        ("o'ranje", set()),
        ("'", everyone),  # no word at all: no text filter
        ("*", everyone),
        ("%", everyone),
        ("_", everyone),
        ("", everyone),
        ("'; DROP TABLE entries; --", set()),
        ("1' OR '1'='1", set()),
        ("x'); DELETE FROM entries; --", set()),
        ("\" OR 1=1 --", set()),
    ]
    wrong = {}
    for q, expected in cases:
        r = node.client.get("/members", params={"q": q, "limit": 200})
        if r.status_code != 200:
            wrong[q] = r.status_code
            continue
        got = {m["id"] for m in r.json()["items"]}
        if got != expected:
            wrong[q] = sorted(got)
    assert wrong == {}
    assert page(node, count=True)["total"] == 3  # nothing was dropped or deleted


# --------------------------------------------------------------------------- pagination


def test_pagination_returns_every_member_once_in_order(node: Node) -> None:
    rng = random.Random(11)
    words = pseudo_words(rng, 23)
    created = {add(node, name=f"{w} Health", social=[], topics=[]): w for w in words}
    expected = [mid for mid, _ in sorted(created.items(), key=lambda kv: kv[1].lower())]
    assert [m["id"] for m in items(node)] == expected
    for limit in (1, 5, 22, 23):
        assert [m["id"] for m in walk(node, limit=limit)] == expected
    # the page size may change between pages: the cursor does not depend on it
    first = page(node, limit=4)
    second = page(node, limit=10, cursor=first["next_cursor"])
    third = page(node, limit=200, cursor=second["next_cursor"])
    got = [m["id"] for m in first["items"] + second["items"] + third["items"]]
    assert got == expected
    assert third["next_cursor"] is None
    # a page that ends exactly at the last item has no next cursor
    assert page(node, limit=23)["next_cursor"] is None
    assert page(node, limit=22)["next_cursor"] is not None
    # count with a cursor still counts the whole result
    assert page(node, limit=5, count=True, cursor=first["next_cursor"])["total"] == 23
    # filtered pagination
    assert [m["id"] for m in walk(node, limit=3, q="health", country="nl")] == expected


def test_cursor_misuse_is_422(sqlite_node: Node) -> None:
    node = sqlite_node
    for i in range(5):
        add(node, name=f"Member {chr(65 + i)}", social=[], topics=[])
    cur = page(node, limit=2, q="member")["next_cursor"]
    assert cur
    c = node.client
    # the same query, even with another page size, accepts it
    assert c.get("/members", params={"limit": 3, "q": "member", "cursor": cur}).status_code == 200
    for params in ({"q": "membe"}, {"q": "member", "country": "NL"}, {},
                   {"q": "member", "near": "52,5"}, {"q": "member", "kind": "clinic"}):
        assert_problem(c.get("/members", params={**params, "cursor": cur}), 422, "query.cursor")
    assert_problem(c.get("/events", params={"cursor": cur}), 422, "query.cursor")
    for garbage in ("garbage!", "abc", b64url(b"not json"), b64url(b"{}"), b64url(b"[1,2]"),
                    b64url(b'"x"'), b64url(json.dumps(["nope", "a", 1]).encode()), "=" * 10):
        assert_problem(c.get("/members", params={"q": "member", "cursor": garbage}), 422,
                       "query.cursor")
    assert_problem(c.get("/members", params={"cursor": "x" * 601}), 422, "query.cursor")


def test_tampered_cursor_is_422_not_500(node: Node) -> None:
    for i in range(3):
        add(node, name=f"Member {i}", social=[], topics=[])
    cur = page(node, limit=1)["next_cursor"]
    fingerprint, *_ = json.loads(b64url_decode(cur, field="cursor"))
    for key in ([{"a": 1}, 1], [["x"], 1], ["member 0", "not-a-pk"], ["member 0", 10**30]):
        forged = b64url(json.dumps([fingerprint, *key]).encode())
        r = node.client.get("/members", params={"limit": 1, "cursor": forged})
        assert r.status_code in (200, 422), (key, r.status_code)
        if r.status_code == 422:
            assert r.json()["errors"][0]["field"] == "query.cursor"


def pseudo_words(rng: random.Random, n: int) -> list[str]:
    """Distinct letter-only words (no 'c': none starts with 'care'); any collation agrees
    on their order."""
    out: set[str] = set()
    while len(out) < n:
        w = "".join(rng.choice("bdfghklmnprstvz") + rng.choice("aeiou") for _ in range(3))
        out.add(w.capitalize())
    return sorted(out, key=lambda _: rng.random())


@pytest.mark.parametrize("order", ["default", "q", "near"])
def test_pagination_is_stable_under_concurrent_writes(node: Node, order: str) -> None:
    """While a client pages, others insert, edit (non-sort fields) and delete members:
    every member that existed unchanged throughout comes back exactly once, no id twice,
    nothing deleted before a page is in that page, and the sort order never goes back."""
    rng = random.Random(f"concurrent-{order}")
    words = iter(pseudo_words(rng, 80))
    centre = (51.0, 5.0)
    coords: list[tuple[float, float]] = []

    def new_member() -> str:
        word = next(words)
        if order == "q" and rng.random() < 0.4:  # matches "care" in the description only
            name, description = f"{word} Clinic", "care for everyone"
        else:
            name, description = f"{word} Care Centre", "a member"
        if coords and rng.random() < 0.2:
            lat, lon = rng.choice(coords)  # same place: equal distances, ties broken by pk
        else:
            lat, lon = round(rng.uniform(36, 70), 4), round(rng.uniform(-10, 30), 4)
        coords.append((lat, lon))
        return add(node, name=name, description=description, latitude=lat, longitude=lon,
                   city="Somewhere", social=[], topics=[])

    initial = [new_member() for _ in range(30)]
    params: dict[str, Any] = {"limit": 5}
    if order == "q":
        params["q"] = "care"
    if order == "near":
        params["near"] = f"{centre[0]},{centre[1]}"

    stable = set(initial)
    deleted: set[str] = set()
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(200):
        body = page(node, **params, **({"cursor": cursor} if cursor else {}))
        got = {m["id"] for m in body["items"]}
        assert not got & deleted, "a member deleted before the fetch was served"
        seen.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
        # writers act between two page fetches
        for _ in range(2):
            new_member()
        target = rng.choice(sorted(stable))
        r = node.client.put(f"/admin/members/{target}", headers=node.editor,
                            json={**current_body(node, target), "city": "Elsewhere"})
        assert r.status_code == 200, r.text
        stable.discard(target)
        unseen = stable - {m["id"] for m in seen}  # deleting ahead of the cursor
        victim = rng.choice(sorted(unseen or stable))
        assert node.client.delete(f"/admin/members/{victim}",
                                  headers=node.editor).status_code == 200
        stable.discard(victim)
        deleted.add(victim)
    else:
        raise AssertionError("pagination did not end")

    ids = [m["id"] for m in seen]
    assert len(ids) == len(set(ids)), "an id was returned twice"
    assert stable <= set(ids), "a member that existed unchanged throughout was skipped"
    assert len(stable) >= 10  # the check above was not vacuous
    # the walk kept the listing's order: as a fresh listing orders the survivors
    fresh = [m["id"] for m in items(node, **{k: v for k, v in params.items() if k != "limit"})]
    assert [i for i in ids if i in stable] == [i for i in fresh if i in stable]
    if order == "default":
        keys: list[Any] = [m["name"].lower() for m in seen]
        assert keys == sorted(keys)
    elif order == "near":
        keys = [m["distance_km"] for m in seen]
        assert keys == sorted(keys)


def current_body(node: Node, mid: str) -> dict[str, Any]:
    r = node.client.get(f"/members/{mid}")
    assert r.status_code == 200
    data: dict[str, Any] = r.json()
    for k in ("id", "origin", "version", "updated_at", "distance_km"):
        data.pop(k, None)
    return data


# --------------------------------------------------------------------------- near


ASIA = [
    ("Tokyo", "JP", 35.6762, 139.6503), ("Tokyo Annex", "JP", 35.6762, 139.6503),
    ("Yokohama", "JP", 35.4437, 139.6380), ("Kawasaki", "JP", 35.5308, 139.7029),
    ("Chiba", "JP", 35.6074, 140.1065), ("Saitama", "JP", 35.8617, 139.6455),
    ("Osaka", "JP", 34.6937, 135.5023), ("Sendai", "JP", 38.2682, 140.8694),
    ("Sapporo", "JP", 43.0618, 141.3545), ("Seoul", "KR", 37.5665, 126.9780),
    ("Busan", "KR", 35.1796, 129.0756), ("Beijing", "CN", 39.9042, 116.4074),
    ("Shanghai", "CN", 31.2304, 121.4737), ("Hong Kong", "HK", 22.3193, 114.1694),
    ("Taipei", "TW", 25.0330, 121.5654), ("Manila", "PH", 14.5995, 120.9842),
    ("Hanoi", "VN", 21.0278, 105.8342), ("Bangkok", "TH", 13.7563, 100.5018),
    ("Singapore", "SG", 1.3521, 103.8198), ("Kuala Lumpur", "MY", 3.1390, 101.6869),
    ("Jakarta", "ID", -6.2088, 106.8456), ("Dhaka", "BD", 23.8103, 90.4125),
    ("Kathmandu", "NP", 27.7172, 85.3240), ("Delhi", "IN", 28.6139, 77.2090),
    ("Mumbai", "IN", 19.0760, 72.8777), ("Karachi", "PK", 24.8607, 67.0011),
    ("Tashkent", "UZ", 41.2995, 69.2401), ("Ulaanbaatar", "MN", 47.8864, 106.9057),
    ("Dubai", "AE", 25.2048, 55.2708), ("Riyadh", "SA", 24.7136, 46.6753),
    ("Tehran", "IR", 35.6892, 51.3890),
]


def check_near(listed: list[dict[str, Any]], places: dict[str, tuple[float, float]],
               lat: float, lon: float) -> None:
    """``listed`` is every place, nearest first by great-circle distance."""
    assert sorted(m["id"] for m in listed) == sorted(places)
    for m in listed:
        expected = haversine_km(lat, lon, *places[m["id"]])
        assert m["distance_km"] == pytest.approx(expected, abs=0.002), m["name"]
    distances = [m["distance_km"] for m in listed]
    assert distances == sorted(distances)
    truth = sorted(haversine_km(lat, lon, *p) for p in places.values())
    assert distances == pytest.approx(truth, abs=0.002)


def check_within(node: Node, places: dict[str, tuple[float, float]], lat: float, lon: float,
                 km: float) -> set[str]:
    """``within_km`` returns exactly the places within ``km`` (none lies on the edge),
    nearest first; returns their ids."""
    dist = {mid: haversine_km(lat, lon, *p) for mid, p in places.items()}
    assert all(abs(d - km) > 0.5 for d in dist.values()), "pick a radius off the edge"
    listed = items(node, near=f"{lat},{lon}", within_km=km)
    assert {m["id"] for m in listed} == {mid for mid, d in dist.items() if d <= km}
    distances = [m["distance_km"] for m in listed]
    assert distances == sorted(distances)
    assert page(node, near=f"{lat},{lon}", within_km=km, count=True)["total"] == len(listed)
    return {m["id"] for m in listed}


def test_near_orders_by_distance_and_pages_across_radii(
    region_node: Callable[..., Node],
) -> None:
    node = region_node(Region.ASIA, "Asia Hub")
    places: dict[str, tuple[float, float]] = {}
    for city, country, lat, lon in ASIA:
        mid = add(node, name=f"{city} Medical", region="asia", country=country, city=city,
                  latitude=lat, longitude=lon, social=[], topics=[], languages=["en"])
        places[mid] = (lat, lon)
    nowhere = add(node, name="Nowhere Clinic", region="asia", country="JP", city=None,
                  latitude=None, longitude=None, social=[], topics=[])
    assert len(places) == 31

    for (lat, lon), limit in (((35.6762, 139.6503), 4), ((28.6139, 77.2090), 7),
                              ((10.0, 60.0), 3), ((-40.0, 170.0), 6)):
        listed = walk(node, near=f"{lat},{lon}", limit=limit)
        check_near(listed, places, lat, lon)
        assert nowhere not in {m["id"] for m in listed}
        one_page = items(node, near=f"{lat},{lon}")
        assert [m["distance_km"] for m in one_page] == [m["distance_km"] for m in listed]

    tokyo = items(node, near="35.6762,139.6503", limit=3)
    assert {m["name"] for m in tokyo[:2]} == {"Tokyo Medical", "Tokyo Annex Medical"}
    assert tokyo[0]["distance_km"] == tokyo[1]["distance_km"] == 0
    # near combines with filters and counts only members with coordinates
    assert page(node, near="35,135", count=True)["total"] == 31
    assert page(node, count=True)["total"] == 32
    japan = {mid: p for mid, p in places.items() if 30 < p[0] < 44 and 135 < p[1] < 142}
    assert len(japan) == 9
    check_near(walk(node, near="28.6139,77.2090", country="JP", limit=4), japan,
               28.6139, 77.2090)
    # without near there is no distance
    assert all("distance_km" not in m for m in items(node))


def test_within_km_boundaries(node: Node) -> None:
    centre = (51.8426, 5.8528)
    spots = {"Nijmegen": centre, "Arnhem": (51.9851, 5.8987), "Amsterdam": (52.3676, 4.9041),
             "Brussels": (50.8503, 4.3517), "Paris": (48.8566, 2.3522)}
    countries = {"Brussels": "BE", "Paris": "FR"}
    ids = {}
    for city, (lat, lon) in spots.items():
        ids[city] = add(node, name=f"{city} Hospital", city=city,
                        country=countries.get(city, "NL"), latitude=lat, longitude=lon,
                        social=[], topics=[])
    add(node, name="Virtual Care", city=None, latitude=None, longitude=None, social=[])
    dist = {city: haversine_km(*centre, *p) for city, p in spots.items()}
    near = f"{centre[0]},{centre[1]}"

    def within(km: float) -> list[str]:
        return [m["name"].removesuffix(" Hospital") for m in items(node, near=near,
                                                                   within_km=km)]

    assert within(0.001) == ["Nijmegen"]  # distance 0 is within any radius
    assert within(dist["Amsterdam"] + 0.01) == ["Nijmegen", "Arnhem", "Amsterdam"]
    assert within(dist["Amsterdam"] - 0.01) == ["Nijmegen", "Arnhem"]
    assert within(dist["Brussels"] + 0.01) == ["Nijmegen", "Arnhem", "Amsterdam", "Brussels"]
    assert within(dist["Paris"] - 0.01) == ["Nijmegen", "Arnhem", "Amsterdam", "Brussels"]
    assert within(dist["Paris"] + 0.01) == list(spots)
    assert within(20040) == list(spots)  # "Virtual Care" has no coordinates
    assert page(node, near=near, within_km=dist["Brussels"] + 0.01, count=True)["total"] == 4
    assert page(node, near=near, count=True)["total"] == 5
    # paging inside a radius
    got = walk(node, near=near, within_km=dist["Brussels"] + 0.01, limit=3)
    assert [m["id"] for m in got] == [ids[c] for c in ("Nijmegen", "Arnhem", "Amsterdam",
                                                       "Brussels")]
    # within_km from another centre
    assert {m["city"] for m in items(node, near="52.3676,4.9041", within_km=60)} == {
        "Amsterdam"}

    # The circle's easternmost and westernmost points lie north of its centre (61.25N for
    # a centre at 60N and 1000 km), where a degree of longitude is shorter than at the centre.
    lat0, lon0, radius = 60.0, 0.0, 1000.0
    r = radius / EARTH_RADIUS_KM
    lat_t = round(math.degrees(math.asin(math.sin(math.radians(lat0)) / math.cos(r))), 6)
    dlon = round(math.degrees(math.asin(math.sin(r) / math.cos(math.radians(lat0)))), 6)
    places = {ids[c]: p for c, p in spots.items()}
    edges = set()
    for name, country, lon in (("East Edge", "SE", lon0 + dlon), ("West Edge", "IS", lon0 - dlon)):
        mid = add(node, name=name, country=country, city=name, latitude=lat_t, longitude=lon,
                  social=[], topics=[])
        places[mid] = (lat_t, lon)
        edges.add(mid)
        assert haversine_km(lat0, lon0, lat_t, lon) == pytest.approx(radius, abs=0.01)
    assert edges <= check_within(node, places, lat0, lon0, radius + 1)
    assert not edges & check_within(node, places, lat0, lon0, radius - 1)
    assert len(edges & check_within(node, places, 59.0, 1.0, 1000)) == 1


def test_near_across_the_antimeridian(region_node: Callable[..., Node]) -> None:
    node = region_node(Region.OCEANIA, "Pacific Health Hub")
    spots = [("Taveuni East", "FJ", -16.79, -179.99), ("Suva", "FJ", -18.1416, 178.4419),
             ("Apia", "WS", -13.8333, -171.7667), ("Nuku'alofa", "TO", -21.1394, -175.2049),
             ("Port Vila", "VU", -17.7333, 168.3273), ("Auckland", "NZ", -36.8485, 174.7633),
             ("Sydney", "AU", -33.8688, 151.2093), ("Perth", "AU", -31.9505, 115.8605)]
    places = {}
    by_city = {}
    for city, country, lat, lon in spots:
        mid = add(node, name=f"{city} Health", region="oceania", country=country, city=city,
                  latitude=lat, longitude=lon, social=[], topics=[], languages=["en"])
        places[mid] = (lat, lon)
        by_city[city] = mid

    for lat, lon in ((-16.8, 179.9), (-16.8, -179.9), (-14.0, -172.0), (-18.0, 180.0),
                     (-18.0, -180.0)):
        listed = walk(node, near=f"{lat},{lon}", limit=2)
        check_near(listed, places, lat, lon)

    first = items(node, near="-16.8,179.9")
    assert [m["city"] for m in first[:4]] == ["Taveuni East", "Suva", "Nuku'alofa", "Apia"]
    assert first[0]["distance_km"] < 15
    # a radius must look on both sides of the line
    assert check_within(node, places, -16.8, 179.9, 50) == {by_city["Taveuni East"]}
    assert check_within(node, places, -18.14, -179.95, 200) == {
        by_city["Taveuni East"], by_city["Suva"]}
    assert check_within(node, places, -17.5, -179.5, 1000) == {
        by_city[c] for c in ("Taveuni East", "Suva", "Apia", "Nuku'alofa")}
    assert check_within(node, places, -25.0, 179.99, 1200) == {
        by_city[c] for c in ("Suva", "Nuku'alofa", "Taveuni East")}


def test_near_a_pole(node: Node) -> None:
    spots = [("North Cap A", "NO", 89.0, 0.0), ("North Cap B", "NO", 89.0, 180.0),
             ("Polar C", "NO", 88.0, 90.0), ("Polar D", "NO", 85.0, -120.0),
             ("Oslo", "NO", 59.9139, 10.7522), ("Reykjavik", "IS", 64.1466, -21.9426),
             ("Longyearbyen", "NO", 78.2232, 15.6267)]
    places = {}
    for city, country, lat, lon in spots:
        places[add(node, name=f"{city} Station", country=country, city=city, latitude=lat,
                   longitude=lon, social=[], topics=[])] = (lat, lon)
    add(node, name="Online Only", city=None, latitude=None, longitude=None, social=[])

    for lat, lon in ((90.0, 0.0), (90.0, 123.0), (89.5, -170.0), (89.9, 45.0), (-90.0, 0.0),
                     (70.0, 179.0)):
        check_near(walk(node, near=f"{lat},{lon}", limit=2), places, lat, lon)
    north = [m["city"] for m in items(node, near="90,0")]
    assert set(north[:2]) == {"North Cap A", "North Cap B"}
    assert north[2:] == ["Polar C", "Polar D", "Longyearbyen", "Reykjavik", "Oslo"]
    assert [m["city"] for m in items(node, near="-90,0")][:2] == ["Oslo", "Reykjavik"]
    assert [m["city"] for m in items(node, near="89.5,-170")][0] == "North Cap B"
    by_city = {m.get("city"): m["id"] for m in items(node)}
    assert check_within(node, places, 90, 0, 250) == {
        by_city[c] for c in ("North Cap A", "North Cap B", "Polar C")}
    assert check_within(node, places, 89.9, 60, 130) == {
        by_city[c] for c in ("North Cap A", "North Cap B")}
    assert check_within(node, places, 80, -170, 1500) == {
        by_city[c] for c in ("North Cap A", "North Cap B", "Polar C", "Polar D")}


# --------------------------------------------------------------------------- one member


def test_get_member_by_id(node: Node) -> None:
    c = node.client
    body = member_body(description="Teaching hospital", joined="2011-05-01",
                       contact={"email": "info@radboudumc.nl"})
    r = c.post("/admin/members", json=body, headers=node.editor)
    mid = r.json()["id"]
    origin = c.get("/node").json()["node_id"]

    r = c.get(f"/members/{mid}")
    assert r.status_code == 200
    assert r.headers["etag"] == '"1"'
    assert r.headers["content-type"].startswith("application/json")
    got = r.json()
    assert got["id"] == mid
    assert got["origin"] == origin
    assert got["version"] == 1
    assert got["updated_at"] == "2026-11-24T12:00:00Z"
    for key, value in body.items():
        assert got[key] == value, key
    assert "distance_km" not in got

    r = c.put(f"/admin/members/{mid}", json=member_body(city="Arnhem"),
              headers={**node.editor, "If-Match": '"1"'})
    assert r.status_code == 200
    r = c.get(f"/members/{mid}")
    assert r.headers["etag"] == '"2"'
    assert r.json()["city"] == "Arnhem"
    assert "description" not in r.json()  # a PUT replaces the whole body

    unknown = "00000000-0000-4000-8000-000000000000"
    assert_problem(c.get(f"/members/{unknown}"), 404)
    assert unknown in c.get(f"/members/{unknown}").json()["detail"]
    for bad in ("not-a-uuid", mid.upper(), mid[:-1], mid + "0", "1" * 36):
        assert_problem(c.get(f"/members/{bad}"), 422, "path.member_id")

    ev = c.post("/admin/events", headers=node.editor, json={
        "title": "Meetup", "kind": "meetup", "region": "europe", "timezone": "Europe/Paris",
        "starts_at": "2027-01-01T10:00", "ends_at": "2027-01-01T12:00",
        "online_url": "https://example.org/meet"}).json()["id"]
    assert_problem(c.get(f"/members/{ev}"), 404)  # an event is not a member

    assert c.delete(f"/admin/members/{mid}", headers=node.editor).status_code == 200
    assert_problem(c.get(f"/members/{mid}"), 404)


def test_signed_record_verifies_including_tombstone(node: Node) -> None:
    c = node.client
    info = c.get("/node").json()
    key = public_key(info["public_key"])
    mid = add(node)

    def envelope(expect_version: int, deleted: bool) -> dict[str, Any]:
        r = c.get(f"/records/{mid}")
        assert r.status_code == 200, r.text
        env: dict[str, Any] = r.json()
        verify_envelope(env, key)
        header = env["record"]
        assert header["id"] == mid
        assert header["kind"] == "member"
        assert header["origin"] == info["node_id"]
        assert header["key_id"] == info["key_id"]
        assert header["version"] == expect_version
        assert header["deleted"] is deleted
        return env

    env = envelope(1, False)
    listed = current_body(node, mid)
    assert env["body"] == listed  # the listing serves the signed body
    # the check is real: a changed body or another key fails
    with pytest.raises(BodyMismatch):
        verify_envelope({**env, "body": {**env["body"], "city": "Arnhem"}}, key)
    with pytest.raises(BadSignature):
        verify_envelope(env, public_key(generate().public_b64))
    with pytest.raises(BadSignature):
        verify_envelope({**env, "record": {**env["record"], "version": 7}}, key)

    r = c.put(f"/admin/members/{mid}", json=member_body(city="Arnhem"), headers=node.editor)
    assert r.status_code == 200
    env2 = envelope(2, False)
    assert env2["body"]["city"] == "Arnhem"
    assert env2["record"]["seq"] > env["record"]["seq"]

    assert c.delete(f"/admin/members/{mid}", headers=node.editor).status_code == 200
    tomb = envelope(3, True)
    assert tomb["body"] is None
    assert tomb["record"]["body_hash"] is None
    with pytest.raises(BodyMismatch):  # a tombstone cannot be given a body back
        verify_envelope({**tomb, "body": env2["body"]}, key)

    assert_problem(c.get("/records/00000000-0000-4000-8000-000000000000"), 404)
    assert_problem(c.get("/records/not-a-record"), 422, "path.record_id")


def test_nul_character_in_filters_is_not_a_server_error(node: Node) -> None:
    add(node)
    for params in ({"topic": "onco\x00logy"}, {"language": "e\x00n"}, {"q": "rad\x00boud"}):
        r = node.client.get("/members", params=params)
        assert r.status_code in (200, 422), (params, r.status_code)
