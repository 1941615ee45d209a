"""``201 Created`` names the new resource: its ``Location`` is the public read of it."""

from __future__ import annotations

from support.factories import event_body, member_body
from support.nodes import Node


def test_a_create_answers_with_the_location_of_what_it_made(node: Node) -> None:
    c, h = node.client, node.editor
    for path, body in (("/admin/members", member_body()), ("/admin/events", event_body())):
        r = c.post(path, json=body, headers=h)
        assert r.status_code == 201, r.text
        location = r.headers["location"]
        assert location == f"/{path.removeprefix('/admin/')}/{r.json()['id']}"
        read = c.get(location)
        assert read.status_code == 200 and read.json()["id"] == r.json()["id"]


def test_only_a_create_carries_a_location(node: Node) -> None:
    c, h = node.client, node.editor
    mid = c.post("/admin/members", json=member_body(), headers=h).json()["id"]
    r = c.put(f"/admin/members/{mid}", json=member_body(name="Radboud UMC"), headers=h)
    assert r.status_code == 200 and "location" not in r.headers
    refused = c.post("/admin/members", json={"name": ""}, headers=h)
    assert refused.status_code == 422 and "location" not in refused.headers
