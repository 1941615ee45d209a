"""The public member directory: filters of GET /members, GET /members/{id} and
GET /records/{id} (full text: test_read_members_text; paging: test_read_members_paging;
near: test_read_members_near).

Data is created through the admin API; every test runs on SQLite and on PostgreSQL unless
it only checks request validation (which never reaches the database).
"""

from __future__ import annotations

from typing import Any

import pytest
from support.factories import member_body
from support.member_directory import add, current_body, items, page
from support.nodes import Node
from support.problems import assert_problem

from federation.errors import BadSignature, BodyMismatch
from federation.keys import generate, public_key
from federation.signing import verify_envelope

# --------------------------------------------------------------------------- helpers


def names(node: Node, **params: Any) -> list[str]:
    return [m["name"] for m in items(node, **params)]


# --------------------------------------------------------------------------- filters


def test_filters_alone_combined_and_counted(node: Node) -> None:
    a = add(
        node,
        name="Amsterdam UMC",
        kind="academic-medical-centre",
        country="NL",
        city="Amsterdam",
        network_role="hub",
        topics=["oncology", "patient engagement"],
        languages=["nl", "en"],
    )
    b = add(
        node,
        name="Brussels Patient Forum",
        kind="patient-organization",
        country="BE",
        city="Brussels",
        network_role="member",
        topics=["patient engagement"],
        languages=["fr", "nl"],
    )
    c = add(
        node,
        name="Charité Berlin",
        kind="academic-medical-centre",
        country="DE",
        city="Berlin",
        network_role="charter-member",
        topics=["oncology"],
        languages=["de"],
    )
    d = add(
        node,
        name="Dublin Clinic",
        kind="clinic",
        country="IE",
        city="Dublin",
        network_role="member",
        topics=[],
        languages=["en", "ga"],
    )
    e = add(
        node,
        name="Porto Health Society",
        kind="professional-society",
        country="PT",
        city="Porto",
        network_role="community-leader",
        topics=["digital health"],
        languages=["pt-PT"],
    )

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
    r = node.client.put(
        f"/admin/members/{a}",
        headers=node.editor,
        json=member_body(
            name="Amsterdam UMC",
            kind="clinic",
            country="BE",
            city="Antwerp",
            network_role="member",
            topics=["cardiology"],
            languages=["en"],
        ),
    )
    assert r.status_code == 200, r.text
    assert ids(topic="oncology") == [c]
    assert ids(language="nl") == [b]
    assert ids(country="NL") == []
    assert ids(role="hub") == []
    assert ids(kind="academic-medical-centre") == [c]
    assert ids(topic="cardiology", language="en", country="BE", kind="clinic", role="member") == [a]
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


# --------------------------------------------------------------------------- one member


def test_get_member_by_id(node: Node) -> None:
    c = node.client
    body = member_body(
        description="Teaching hospital",
        joined="2011-05-01",
        contact={"email": "info@radboudumc.nl"},
    )
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

    r = c.put(
        f"/admin/members/{mid}",
        json=member_body(city="Arnhem"),
        headers={**node.editor, "If-Match": '"1"'},
    )
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

    ev = c.post(
        "/admin/events",
        headers=node.editor,
        json={
            "title": "Meetup",
            "kind": "meetup",
            "region": "europe",
            "timezone": "Europe/Paris",
            "starts_at": "2027-01-01T10:00",
            "ends_at": "2027-01-01T12:00",
            "online_url": "https://example.org/meet",
        },
    ).json()["id"]
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
