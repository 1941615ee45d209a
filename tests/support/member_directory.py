"""The public member directory as the read tests use it: adding members through the admin
API, fetching one page of GET /members, walking every page, and a member's body as served."""

from __future__ import annotations

from typing import Any

from .factories import member_body
from .nodes import Node


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


def current_body(node: Node, mid: str) -> dict[str, Any]:
    r = node.client.get(f"/members/{mid}")
    assert r.status_code == 200
    data: dict[str, Any] = r.json()
    for k in ("id", "origin", "version", "updated_at", "distance_km"):
        data.pop(k, None)
    return data
