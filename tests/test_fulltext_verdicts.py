"""The remembered "many matches" verdicts of full-text search (node/db/fulltext.py): they
change the plan only, so results stay exact when a common word becomes rare."""

from __future__ import annotations

import pytest
from support.factories import add_member
from support.nodes import Node

from node.db import fulltext

KEY = ("sqlite:///x.db", '"health"*', 500)


def test_a_verdict_lasts_its_ttl_and_the_table_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    verdicts = fulltext._ManyMatches()
    assert not verdicts.known(KEY, now=0.0)
    verdicts.remember(KEY, now=10.0)
    assert verdicts.known(KEY, now=10.0 + verdicts.TTL)
    assert not verdicts.known(KEY, now=10.0 + verdicts.TTL + 0.1)
    assert not verdicts.known(KEY, now=10.0)  # an expired verdict is dropped
    monkeypatch.setattr(fulltext._ManyMatches, "SIZE", 3)
    for i in range(5):
        verdicts.remember(("db", f"w{i}", 500), now=1.0)
    assert [verdicts.known(("db", f"w{i}", 500), now=1.0) for i in range(5)] == [
        False,
        False,
        True,
        True,
        True,
    ]


def test_a_stale_many_verdict_still_finds_exactly_the_matches(
    sqlite_node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fulltext, "_MANY", fulltext._ManyMatches())
    monkeypatch.setattr(fulltext, "FEW_MATCHES", 3)
    c = sqlite_node.client
    ids = [add_member(sqlite_node, name=f"Zephyrine Clinic {i}") for i in range(4)]
    add_member(sqlite_node, name="Other Hospital")
    first = c.get("/members", params={"q": "zephyrine"}).json()
    assert sorted(m["id"] for m in first["items"]) == sorted(ids)
    assert len(fulltext._MANY._seen) >= 1  # remembered as many
    for mid in ids[1:]:
        r = c.delete(f"/admin/members/{mid}", headers=sqlite_node.editor)
        assert r.status_code in (200, 204), r.text
    again = c.get("/members", params={"q": "zephyrine", "count": "true"}).json()
    assert [m["id"] for m in again["items"]] == [ids[0]]
    assert again["total"] == 1
