"""The admin API's bearer-token auth and its audit log, on both backends (writes,
concurrency and charter scope: test_admin_api)."""

from __future__ import annotations

import hashlib
import itertools
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session
from support.admin_writes import create_member, last_seq, put_member
from support.clock import Clock
from support.databases import BACKENDS
from support.factories import event_body, member_body
from support.nodes import Node
from support.problems import assert_problem

from node import tokens

# --- helpers -------------------------------------------------------------------------------


def token_parts(headers: dict[str, str]) -> tuple[str, str]:
    """(token id, secret) of an ``Authorization: Bearer hn_<id>_<secret>`` header."""
    _, token_id, secret = headers["Authorization"].removeprefix("Bearer ").split("_", 2)
    return token_id, secret


# --- authentication and authorization --------------------------------------------------------


def _bad_authorizations(node: Node) -> list[dict[str, str]]:
    token_id, secret = token_parts(node.editor)
    return [
        {},
        {"Authorization": "Bearer garbage"},
        {"Authorization": "Bearer hn_abc"},  # wrong format: no secret part
        {"Authorization": f"Bearer xx_{token_id}_{secret}"},  # wrong prefix
        {"Authorization": f"Bearer hn_{token_id}_{secret[:-1]}x"},  # wrong secret
        {"Authorization": f"Bearer hn_{'a' * 40}_{secret}"},  # id far too long
        {"Authorization": f"Bearer hn_000000000000_{secret}"},  # unknown id
        {"Authorization": f"Basic {secret}"},  # not a bearer token at all
        {"Authorization": f"hn_{token_id}_{secret}"},  # no scheme
    ]


def assert_unauthorized(r: Any) -> None:
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_requests_without_a_valid_token_are_401(node: Node) -> None:
    c = node.client
    # More failures than the per-client limit allows in a minute: let a minute pass between
    # requests so this test sees 401s, not 429s (the limit has its own tests).
    ticks = itertools.count(start=1000.0, step=60.0)
    node.app.state.runtime.rate_clock = lambda: next(ticks)
    for headers in _bad_authorizations(node):
        assert_unauthorized(c.post("/admin/members", json=member_body(), headers=headers))
        assert_unauthorized(c.post("/admin/events", json=event_body(), headers=headers))
        assert_unauthorized(c.get("/admin/audit", headers=headers))
    assert last_seq(node) == 0
    assert c.get("/members", params={"count": True}).json()["total"] == 0


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_unauthenticated_put_and_delete_by_id_are_401(node: Node) -> None:
    c = node.client
    rid = str(uuid.uuid4())
    assert_unauthorized(c.put(f"/admin/members/{rid}", json=member_body()))
    assert_unauthorized(c.delete(f"/admin/events/{rid}", headers={"Authorization": "Bearer x"}))


def test_revoked_token_is_401(node: Node, clock: Clock) -> None:
    c = node.client
    with Session(node.engine) as session:
        row, secret = tokens.create_token(
            session, role=tokens.Role.EDITOR, label="short-lived", now=clock()
        )
        token_id = row.id
        session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert c.post("/admin/members", json=member_body(), headers=headers).status_code == 201

    with Session(node.engine) as session:
        tokens.revoke_token(session, token_id=token_id, now=clock())
        session.commit()
    assert_unauthorized(c.post("/admin/members", json=member_body(), headers=headers))
    assert last_seq(node) == 1
    # Other tokens are untouched.
    assert c.post("/admin/members", json=member_body(), headers=node.editor).status_code == 201


def test_audit_log_needs_an_admin_token(node: Node) -> None:
    c = node.client
    assert_problem(c.get("/admin/audit", headers=node.editor), 403)
    r = c.get("/admin/audit", headers=node.admin)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    # Both roles may write.
    assert c.post("/admin/members", json=member_body(), headers=node.editor).status_code == 201
    assert c.post("/admin/members", json=member_body(), headers=node.admin).status_code == 201


def test_tokens_are_stored_only_as_sha256_of_the_secret(node: Node) -> None:
    with node.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM api_tokens"))]
    assert len(rows) == 2
    by_id = {r["id"]: r for r in rows}
    for headers in (node.admin, node.editor):
        token_id, secret = token_parts(headers)
        full = headers["Authorization"].removeprefix("Bearer ")
        for row in rows:
            for value in row.values():
                assert secret not in str(value) and full not in str(value)
        assert by_id[token_id]["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert {r["role"] for r in rows} == {"admin", "editor"}


# --- audit log -------------------------------------------------------------------------------


def test_every_write_and_refusal_is_audited(node: Node, clock: Clock) -> None:
    c = node.client
    editor_id, _ = token_parts(node.editor)
    admin_id, _ = token_parts(node.admin)

    mid = create_member(node)["id"]  # 12:00:00
    clock.advance(seconds=1)
    assert put_member(node, mid, if_match='"1"', city="Arnhem").status_code == 200
    clock.advance(seconds=1)
    assert put_member(node, mid, if_match='"1"').status_code == 409
    clock.advance(seconds=1)
    assert c.delete(f"/admin/members/{mid}", headers=node.editor).status_code == 200
    clock.advance(seconds=1)
    assert c.delete(f"/admin/members/{mid}", headers=node.editor).status_code == 404
    clock.advance(seconds=1)
    assert c.post("/admin/members", json=member_body()).status_code == 401
    clock.advance(seconds=1)
    r = c.post("/admin/events", json=event_body(), headers=node.admin)
    assert r.status_code == 201
    eid = r.json()["id"]

    r = c.get("/admin/audit", headers=node.admin)
    assert r.status_code == 200, r.text
    page = r.json()
    items = page["items"]
    got = [
        (
            i["token_id"],
            i["action"],
            i["outcome"],
            i["target_kind"],
            i["target_id"],
            i["version"],
            i["seq"],
        )
        for i in items
    ]
    assert got == [
        (editor_id, "create member", "ok", "member", mid, 1, 1),
        (editor_id, "update member", "ok", "member", mid, 2, 2),
        (editor_id, "update member", "rejected", "member", mid, None, None),
        (editor_id, "delete member", "ok", "member", mid, 3, 3),
        (editor_id, "delete member", "rejected", "member", mid, None, None),
        (None, "POST /admin/members", "unauthorized", None, None, None, None),
        (admin_id, "create event", "ok", "event", eid, 1, 4),
    ]
    assert [i["at"] for i in items] == [f"2026-11-24T12:00:0{s}Z" for s in range(7)]
    assert "stale" in items[2]["detail"] and "not found" in items[4]["detail"]
    assert items[5]["detail"]  # says why the token was refused
    ids = [i["id"] for i in items]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert page["next_after"] is None


def test_audit_log_pages_with_after(node: Node) -> None:
    c = node.client
    for i in range(7):
        create_member(node, city=f"City {i}")
    full = c.get("/admin/audit", headers=node.admin).json()["items"]
    assert len(full) == 7

    seen: list[dict[str, Any]] = []
    after = 0
    pages = 0
    while True:
        r = c.get("/admin/audit", params={"after": after, "limit": 3}, headers=node.admin)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 3
        assert all(item["id"] > after for item in page["items"])
        seen.extend(page["items"])
        pages += 1
        if page["next_after"] is None:
            break
        assert page["next_after"] == page["items"][-1]["id"]
        after = page["next_after"]
    assert seen == full
    assert pages == 3
    assert [i["seq"] for i in seen] == [1, 2, 3, 4, 5, 6, 7]

    last = full[-1]["id"]
    r = c.get("/admin/audit", params={"after": last}, headers=node.admin).json()
    assert r == {"items": [], "next_after": None}
    r = c.get("/admin/audit", params={"after": full[4]["id"]}, headers=node.admin).json()
    assert r["items"] == full[5:]
