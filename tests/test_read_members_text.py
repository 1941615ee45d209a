"""Full-text search of the public member directory: GET /members?q=…

Data is created through the admin API; every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.member_directory import add, items, page, walk
from support.nodes import Node

from node.db import fulltext

# --------------------------------------------------------------------------- full text


def test_q_folds_case_and_accents_prefix_matches_every_word_in_any_field(node: Node) -> None:
    nij = add(node)  # Radboud University Nijmegen Medical Centre, city Nijmegen, @radboudumc
    hop = add(
        node,
        name="Hôpital Universitaire de Genève",
        country="CH",
        city="Genève",
        latitude=46.19,
        longitude=6.15,
        social=[],
        topics=[],
    )
    zur = add(
        node,
        name="UNIVERSITÄTSSPITAL ZÜRICH",
        country="CH",
        city="Zürich",
        latitude=47.37,
        longitude=8.54,
        social=[],
        topics=[],
    )
    ams = add(
        node, name="Amsterdam Medical Centre", city="Amsterdam", social=[], topics=["cardiology"]
    )
    rot = add(node, name="Rotterdam Radiology Group", city="Rotterdam", social=[], topics=[])
    one = add(
        node,
        name="Generic Org One",
        city="Maastricht",
        topics=["telehealth"],
        description="Pioneers of xenotransplantation research since 1990.",
        social=[
            {"platform": "x", "handle": "@zorgvoorbeeld"},
            {"platform": "youtube", "url": "https://youtube.com/@other"},
        ],
    )
    two = add(
        node,
        name="Generic Org Two",
        city="Utrecht",
        topics=["oncology"],
        social=[{"platform": "x", "handle": "@another"}],
    )

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
    mid = add(
        node,
        name="UZ Leuven/KU Leuven",
        country="BE",
        city="Leuven",
        topics=[],
        social=[{"platform": "mastodon", "handle": "@uzleuven@mastodon.social"}],
        description="See www.patientvoices.org; covid-19 research; mail info@zorgnet.be",
    )
    add(node, name="Unrelated Clinic", social=[], topics=[])
    missing = [
        q
        for q in ("ku", "mastodon", "social", "patientvoices", "zorgnet", "19")
        if [m["id"] for m in items(node, q=q)] != [mid]
    ]
    assert missing == []


# On SQLite a search with few matches looks them up by rowid, one with many walks the name
# index (node.db.fulltext.FEW_MATCHES); a bound of 1 sends every search down the second path.
@pytest.mark.parametrize("few_matches", [fulltext.FEW_MATCHES, 1], ids=["lookup", "walk"])
def test_q_ranks_name_matches_first_then_alphabetically(
    node: Node, few_matches: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fulltext, "FEW_MATCHES", few_matches)
    n1 = add(node, name="Amsterdam Cardio Centre", city="Amsterdam", social=[], topics=[])
    n2 = add(node, name="Cardio Clinic", city="Amsterdam", social=[], topics=[])
    n3 = add(
        node,
        name="Aardvark Clinic",
        city="Delft",
        social=[],
        topics=[],
        description="Cardio care in Amsterdam",
    )
    n4 = add(node, name="Zaandam Cardiologie Amsterdam Noord", city="Zaandam", social=[], topics=[])
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
        ('" OR 1=1 --', set()),
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
