"""Search that does not grow with the match set (issue 13): every way a search can run
finds the same entries in the same order.

On SQLite a text search picks its plan per tier from how many entries match
(``node.db.fulltext.FEW_MATCHES``): few are looked up by rowid and sorted, many are found by
walking the name order and checking each entry's words on the covering index of
migration 0013. The bound is lowered here so that a small directory runs every plan, and
each plan must give the order the rule states (name matches first, then the others, each
by folded name), page after page. A count asked of the API stops at a cap and says so.
Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlmodel import Session
from support.factories import add_event
from support.member_directory import add, page, walk
from support.nodes import Node

from node.db import fulltext, migrate, pins, search
from node.db.text import fold, index_text, tokens

# (name, city, topics, description): names share words and prefixes so that each query
# has entries in both tiers, with accents, capitals and words split by punctuation.
MEMBERS: list[tuple[str, str, list[str], str]] = [
    ("Cardio Centrum Amsterdam", "Amsterdam", [], ""),
    ("Amsterdam Heart Clinic", "Amsterdam", ["cardiology"], ""),
    ("Clínica Cardiológica de León", "León", [], "Care for the heart"),
    ("CARE-Net Foundation", "Utrecht", ["patient care"], "Cardio rehabilitation"),
    ("Zorg & Care Utrecht", "Utrecht", [], ""),
    ("Aardvark Health", "Delft", ["care"], "Health care in Amsterdam"),
    ("Health Alliance Amsterdam", "Amsterdam", [], ""),
    ("Heartbeat Health Group", "Rotterdam", ["cardio"], ""),
    ("Caring Hands", "Haarlem", [], "home health"),
    ("Careful Pharmacy", "Leiden", [], ""),
    ("Health", "Groningen", [], "care"),
    ("Nordic Healthcare Institute", "Arnhem", ["health care"], ""),
    ("Patient Voices", "Nijmegen", ["cardiology"], "Amsterdam office; health advocacy"),
    ("Öresund Hälsa Care", "Malmö", [], ""),
    ("Unrelated Institute", "Breda", [], "nothing to see"),
]
QUERIES = ["care", "health", "car", "ca", "amsterdam", "health care", "cardio amst", "hälsa"]


def _expected(q: str, members: list[tuple[str, str, str]]) -> list[str]:
    """The stated order, computed here from the rule: every word a prefix of a word of the
    name (tier 0), else of the name or the other fields (tier 1); by folded name in each."""
    words = tokens(q)

    def has(text_: str, word: str) -> bool:
        return any(t.startswith(word) for t in text_.split())

    ranked = []
    for mid, name, other in members:
        in_name = all(has(index_text(name), w) for w in words)
        anywhere = all(has(index_text(name), w) or has(other, w) for w in words)
        if anywhere:
            ranked.append((0 if in_name else 1, fold(name), mid))
    return [mid for *_, mid in sorted(ranked)]


@pytest.fixture
def directory(node: Node) -> list[tuple[str, str, str]]:
    out = []
    for name, city, topics, description in MEMBERS:
        mid = add(
            node, name=name, city=city, topics=topics, description=description or None, social=[]
        )
        other = index_text(city, "NL", description, " ".join(topics))
        out.append((mid, name, other))
    return out


@pytest.mark.parametrize(
    "few_matches", [fulltext.FEW_MATCHES, 3, 1], ids=["lookup", "mixed", "walk"]
)
def test_every_plan_pages_through_the_stated_order(
    node: Node,
    directory: list[tuple[str, str, str]],
    few_matches: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fulltext, "FEW_MATCHES", few_matches)
    for q in QUERIES:
        expected = _expected(q, directory)
        assert expected, q  # every query finds something
        for limit in (1, 2, 5, 200):
            assert [m["id"] for m in walk(node, q=q, limit=limit)] == expected, (q, limit)
        assert page(node, q=q, count=True)["total"] == len(expected), q
    assert walk(node, q="zzz") == []
    assert page(node, q="zzz", count=True)["total"] == 0


@pytest.mark.parametrize("few_matches", [fulltext.FEW_MATCHES, 1], ids=["lookup", "walk"])
def test_the_map_shows_what_the_list_finds_on_every_plan(
    node: Node,
    directory: list[tuple[str, str, str]],
    few_matches: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fulltext, "FEW_MATCHES", few_matches)
    by_id = {mid: name for mid, name, _ in directory}
    with Session(node.engine) as session:
        for q in QUERIES:
            expected = sorted(_expected(q, directory), key=lambda mid: fold(by_id[mid]))
            found = pins.pins(session, search.Query(kind="member", q=q), limit=2)
            assert [p.record_id for p in found.pins] == expected[:2], q
            assert found.placed == len(expected), q  # every member of the factory has a place


@pytest.mark.parametrize("few_matches", [fulltext.FEW_MATCHES, 1], ids=["lookup", "walk"])
def test_event_text_search_keeps_start_order_and_filters_on_every_plan(
    node: Node, few_matches: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fulltext, "FEW_MATCHES", few_matches)
    march = add_event(node, title="Health Day", starts_at="2027-03-10T09:00")
    april = add_event(
        node,
        title="Care Forum",
        description="health",
        starts_at="2027-04-10T09:00",
        ends_at="2027-04-10T17:00",
    )
    online = add_event(
        node,
        title="Healthcare Webinar",
        kind="webinar",
        venue=None,
        online_url="https://example.org/w",
        starts_at="2027-02-10T09:00",
        ends_at="2027-02-10T10:00",
    )
    add_event(
        node, title="Unrelated Meetup", starts_at="2027-01-10T09:00", ends_at="2027-01-10T17:00"
    )

    def ids(**params: Any) -> list[str]:
        out, cursor = [], None
        while True:
            more: dict[str, str] = {"cursor": cursor} if cursor else {}
            r = node.client.get("/events", params={**params, **more})
            assert r.status_code == 200, r.text
            out += [e["id"] for e in r.json()["items"]]
            if (cursor := r.json()["next_cursor"]) is None:
                return out

    assert ids(q="health", limit=1) == [online, march, april]
    assert ids(q="HEALTH", attendance="in_person", limit=1) == [march, april]
    assert ids(q="health", attendance="online") == [online]
    assert ids(q="health", **{"from": "2027-03-01"}) == [march, april]
    assert ids(q="health", to="2027-03-01") == [online]
    assert ids(q="zzz") == []


def test_the_walk_index_is_sqlite_only_and_goes_with_a_downgrade(node: Node) -> None:
    def walk_index() -> bool:
        names = {ix["name"] for ix in inspect(node.engine).get_indexes("entries")}
        return "entries_fts_walk" in names

    if node.engine.dialect.name != "sqlite":
        assert not walk_index()
        return
    assert walk_index()
    migrate.downgrade(node.engine, "0012")
    assert not walk_index()
    migrate.upgrade(node.engine)
    assert walk_index()
    with node.engine.connect() as conn:  # a member walk in name order reads the index alone
        plan = " ".join(
            str(r[-1])
            for r in conn.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT pk, sort_name FROM entries WHERE kind = 'member'"
                    " AND instr(' ' || name_tokens, ' care') > 0 ORDER BY sort_name, pk LIMIT 21"
                )
            )
        )
    assert "COVERING INDEX entries_fts_walk" in plan


@pytest.mark.parametrize("few_matches", [fulltext.FEW_MATCHES, 1], ids=["lookup", "walk"])
def test_a_count_stops_at_the_cap_and_says_so(
    node: Node,
    directory: list[tuple[str, str, str]],
    few_matches: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from node.api import members

    monkeypatch.setattr(fulltext, "FEW_MATCHES", few_matches)
    monkeypatch.setattr(members, "COUNT_CAP", 3)
    many, three = _expected("care", directory), _expected("heart", directory)
    assert len(many) > 3 and len(three) == 3
    capped = page(node, q="care", count=True, limit=2)
    assert (capped["total"], capped["total_capped"]) == (3, True)
    assert [m["id"] for m in capped["items"]] == many[:2]  # the page itself is whole
    assert (page(node, q="heart", count=True)["total"], page(node, q="heart")["total"]) == (
        3,
        None,
    )
    assert page(node, q="heart", count=True)["total_capped"] is False
    everyone = page(node, count=True)
    assert (everyone["total"], everyone["total_capped"]) == (3, True)
    assert page(node, q="zzz", count=True) == {
        "items": [],
        "next_cursor": None,
        "total": 0,
        "total_capped": False,
    }
    monkeypatch.setattr(members, "COUNT_CAP", len(MEMBERS))
    assert page(node, count=True)["total"] == len(MEMBERS)
    assert page(node, count=True)["total_capped"] is False
