"""Valid member and event bodies, and writing them through the admin API (the real path)."""

from __future__ import annotations

from typing import Any

from .nodes import Node


def member_body(**overrides: object) -> dict[str, object]:
    """A valid European member; override any field."""
    body: dict[str, object] = {
        "name": "Radboud University Nijmegen Medical Centre",
        "kind": "academic-medical-centre",
        "region": "europe",
        "country": "NL",
        "city": "Nijmegen",
        "latitude": 51.8426,
        "longitude": 5.8528,
        "website": "https://www.radboudumc.nl",
        "social": [{"platform": "x", "handle": "@radboudumc"}],
        "topics": ["patient engagement", "innovation"],
        "languages": ["nl", "en"],
        "network_role": "community-leader",
    }
    body.update(overrides)
    return body


def event_body(**overrides: object) -> dict[str, object]:
    """A valid European event in the future of the test clock; override any field."""
    body: dict[str, object] = {
        "title": "Health Social Media Day Europe",
        "kind": "conference",
        "region": "europe",
        "timezone": "Europe/Amsterdam",
        "starts_at": "2027-03-10T09:00",
        "ends_at": "2027-03-10T17:00",
        "venue": {"city": "Nijmegen", "country": "NL", "latitude": 51.82, "longitude": 5.86},
        "topics": ["social media"],
        "language": "en",
    }
    body.update(overrides)
    return body


def add_member(node: Node, **fields: Any) -> str:
    """Write a member through the admin API (the real path) and return its id."""
    r = node.client.post("/admin/members", json=member_body(**fields), headers=node.editor)
    assert r.status_code == 201, r.text
    mid: str = r.json()["id"]
    return mid


def add_event(node: Node, **fields: Any) -> str:
    """Write an event through the admin API and return its id."""
    r = node.client.post("/admin/events", json=event_body(**fields), headers=node.editor)
    assert r.status_code == 201, r.text
    eid: str = r.json()["id"]
    return eid
