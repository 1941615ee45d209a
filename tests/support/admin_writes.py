"""Writes through the admin API for the admin tests: members created and replaced with the
editor token, and the node's own record of its sequence (GET /node)."""

from __future__ import annotations

from typing import Any

from .factories import member_body
from .nodes import Node


def node_info(node: Node) -> dict[str, Any]:
    r = node.client.get("/node")
    assert r.status_code == 200, r.text
    info: dict[str, Any] = r.json()
    return info


def last_seq(node: Node) -> int:
    return int(node_info(node)["last_seq"])


def create_member(node: Node, **overrides: object) -> dict[str, Any]:
    r = node.client.post("/admin/members", json=member_body(**overrides), headers=node.editor)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def put_member(node: Node, mid: str, if_match: str | None = None, **overrides: object):  # type: ignore[no-untyped-def]
    headers = dict(node.editor)
    if if_match is not None:
        headers["If-Match"] = if_match
    return node.client.put(f"/admin/members/{mid}", json=member_body(**overrides), headers=headers)
