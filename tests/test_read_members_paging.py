"""Paging the public member directory: GET /members with limit and cursor, also while
others write.

Data is created through the admin API; every test runs on SQLite and on PostgreSQL unless
it only checks request validation (which never reaches the database).
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from support.member_directory import add, current_body, items, page, walk
from support.nodes import Node
from support.problems import assert_problem

from federation.canonical import b64url, b64url_decode

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
    for params in (
        {"q": "membe"},
        {"q": "member", "country": "NL"},
        {},
        {"q": "member", "near": "52,5"},
        {"q": "member", "kind": "clinic"},
    ):
        assert_problem(c.get("/members", params={**params, "cursor": cur}), 422, "query.cursor")
    assert_problem(c.get("/events", params={"cursor": cur}), 422, "query.cursor")
    for garbage in (
        "garbage!",
        "abc",
        b64url(b"not json"),
        b64url(b"{}"),
        b64url(b"[1,2]"),
        b64url(b'"x"'),
        b64url(json.dumps(["nope", "a", 1]).encode()),
        "=" * 10,
    ):
        assert_problem(
            c.get("/members", params={"q": "member", "cursor": garbage}), 422, "query.cursor"
        )
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
        return add(
            node,
            name=name,
            description=description,
            latitude=lat,
            longitude=lon,
            city="Somewhere",
            social=[],
            topics=[],
        )

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
        r = node.client.put(
            f"/admin/members/{target}",
            headers=node.editor,
            json={**current_body(node, target), "city": "Elsewhere"},
        )
        assert r.status_code == 200, r.text
        stable.discard(target)
        unseen = stable - {m["id"] for m in seen}  # deleting ahead of the cursor
        victim = rng.choice(sorted(unseen or stable))
        assert (
            node.client.delete(f"/admin/members/{victim}", headers=node.editor).status_code == 200
        )
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
