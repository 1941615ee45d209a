"""Joining the network over HTTP (node/api/joins.py, node.joins): an applicant's signed
request, the hub admin's decision, and the applicant then syncing as a roster node. In
process, over ASGITransport (support.fedkit); every refusal is a 4xx problem naming the
field, and leaves nothing stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from support.clock import Clock
from support.federation_world import create_member, run, sqlite_urls, total
from support.fedkit import Federation, FedNode, call
from support.problems import assert_problem

from federation import joining
from federation.canonical import b64url
from federation.keys import generate, node_id_for
from node import joins, roster, tokens
from node.db import joins as join_rows
from schemas.geo import Region


@pytest.fixture
def fed(tmp_path: Path, clock: Clock) -> Iterator[Federation]:
    fed = Federation(tmp_path, clock, sqlite_urls(tmp_path))
    fed.add("hub", Region.NORTH_AMERICA, hub=True, name="Mayo Clinic")
    place = {"latitude": 51.8426, "longitude": 5.8528}
    fed.add("europe", Region.EUROPE, name="Radboud UMC", admit=False, **place)
    yield fed
    run(fed.close())


def admin_of(node: FedNode, clock: Clock) -> dict[str, str]:
    with Session(node.app.state.runtime.engine) as session:
        _, secret = tokens.create_token(session, role=tokens.Role.ADMIN, label="a", now=clock())
        session.commit()
    return {"Authorization": f"Bearer {secret}"}


def envelope_of(node: FedNode, clock: Clock, **changes: Any) -> dict[str, Any]:
    key = node.app.state.runtime.key
    body = joins.request_body(node.settings, key, contact="reshape@radboudumc.nl", now=clock())
    return joining.sign_join(key, {**body, **changes})


def resigned(envelope: dict[str, Any], key: Any, **changes: Any) -> dict[str, Any]:
    """The envelope with ``changes`` to its request, signed again as given (unvalidated)."""
    request = {**envelope["request"], **changes}
    return {**envelope, "request": request, "sig": b64url(key.sign(joining.signed_bytes(request)))}


def held(node: FedNode) -> list[join_rows.JoinRequestRow]:
    with Session(node.app.state.runtime.engine) as session:
        return join_rows.listing(session, status=None)


async def post(hub: FedNode, envelope: Any) -> Any:
    data = envelope if isinstance(envelope, bytes) else json.dumps(envelope).encode()
    return await call(
        hub, "POST", "/federation/join", content=data, headers={"content-type": "application/json"}
    )


# --- the way in -----------------------------------------------------------------------------


def test_request_approve_and_the_new_node_syncs(fed: Federation, clock: Clock) -> None:
    async def scenario() -> None:
        hub, eu = fed.hub, fed.nodes["europe"]
        admin = admin_of(hub, clock)
        key = eu.app.state.runtime.key
        await create_member(hub, "Mayo member")
        await create_member(eu, "Radboud member")

        r = await post(hub, envelope_of(eu, clock))
        assert r.status_code == 202, r.text
        receipt = r.json()
        assert receipt["status"] == "pending" and receipt["node_id"] == eu.node_id
        assert receipt["fingerprint"] == joining.fingerprint(key.public_b64)
        poll = await call(hub, "GET", f"/federation/join/{receipt['id']}")
        assert poll.json() == {"id": receipt["id"], "status": "pending", "reason": None}

        listing = (await call(hub, "GET", "/admin/joins", headers=admin)).json()["items"]
        assert [i["id"] for i in listing] == [receipt["id"]]
        item = listing[0]
        assert item["request"]["contact"] == "reshape@radboudumc.nl"
        assert item["fingerprint"] == receipt["fingerprint"] and item["client"]

        r = await call(hub, "POST", f"/admin/joins/{receipt['id']}/approve", headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "approved" and r.json()["roster_version"] == 2
        assert (await call(hub, "GET", f"/federation/join/{receipt['id']}")).json()["status"] == (
            "approved"
        )
        with Session(hub.app.state.runtime.engine) as session:
            body, version = roster.current(session, hub=hub.node_id)  # type: ignore[misc]
        entry = next(n for n in body.nodes if n.node_id == eu.node_id)
        assert (entry.name, entry.region, entry.url) == ("Radboud UMC", "europe", eu.settings.url)
        assert entry.leader == "Radboud UMC" and entry.latitude == 51.8426
        assert [k.public_key for k in entry.keys] == [key.public_b64]
        assert version == 2 and hub.sync.trust.knows(eu.node_id)

        await fed.converge()
        assert eu.sync.trust.current.version == 2  # the follower pulled the new roster
        assert await total(hub) == 2 and await total(eu) == 2  # records flow both ways
        audit = (await call(hub, "GET", "/admin/audit", headers=admin)).json()["items"]
        assert [a["action"] for a in audit][-2:] == ["join request", "approve join"]

        again = await call(hub, "POST", f"/admin/joins/{receipt['id']}/approve", headers=admin)
        assert assert_problem(again, 409)["type"].endswith("join-closed")
        listed_now = await post(hub, envelope_of(eu, clock))
        assert_problem(listed_now, 409)  # a node already in the roster cannot ask again

    run(scenario())


def test_decline_shows_the_reason_to_the_applicant(fed: Federation, clock: Clock) -> None:
    async def scenario() -> None:
        hub, eu = fed.hub, fed.nodes["europe"]
        admin = admin_of(hub, clock)
        request_id = (await post(hub, envelope_of(eu, clock))).json()["id"]
        path = f"/admin/joins/{request_id}/decline"
        empty = await call(hub, "POST", path, json={"reason": ""}, headers=admin)
        assert_problem(empty, 422, field="body.reason")
        r = await call(hub, "POST", path, json={"reason": "Europe has a node"}, headers=admin)
        assert r.status_code == 200 and r.json()["status"] == "declined", r.text
        poll = (await call(hub, "GET", f"/federation/join/{request_id}")).json()
        assert poll == {"id": request_id, "status": "declined", "reason": "Europe has a node"}
        approve = await call(hub, "POST", f"/admin/joins/{request_id}/approve", headers=admin)
        assert_problem(approve, 409)
        assert (await call(hub, "GET", "/admin/joins", headers=admin)).json()["items"] == []
        every = await call(hub, "GET", "/admin/joins?status=all", headers=admin)
        assert [i["status"] for i in every.json()["items"]] == ["declined"]
        with Session(hub.app.state.runtime.engine) as session:
            body, _ = roster.current(session, hub=hub.node_id)  # type: ignore[misc]
        assert eu.node_id not in {n.node_id for n in body.nodes}

    run(scenario())


def test_a_newer_request_replaces_the_pending_one(fed: Federation, clock: Clock) -> None:
    async def scenario() -> None:
        hub, eu = fed.hub, fed.nodes["europe"]
        first = (await post(hub, envelope_of(eu, clock))).json()["id"]
        clock.advance(minutes=1)
        second = (await post(hub, envelope_of(eu, clock, name="Radboudumc"))).json()["id"]
        assert (await call(hub, "GET", f"/federation/join/{first}")).json()["status"] == "replaced"
        with Session(hub.app.state.runtime.engine) as session:
            (view,) = joins.pending(session, clock())
        assert view.id == second and view.request.name == "Radboudumc"

    run(scenario())


def test_an_undecided_request_expires(fed: Federation, clock: Clock) -> None:
    async def scenario() -> None:
        hub, eu = fed.hub, fed.nodes["europe"]
        admin = admin_of(hub, clock)
        request_id = (await post(hub, envelope_of(eu, clock))).json()["id"]
        clock.advance(days=14)
        assert (await call(hub, "GET", f"/federation/join/{request_id}")).json()["status"] == (
            "expired"
        )
        assert (await call(hub, "GET", "/admin/joins", headers=admin)).json()["items"] == []
        late = await call(hub, "POST", f"/admin/joins/{request_id}/approve", headers=admin)
        assert "expired" in assert_problem(late, 409)["detail"]
        # Expired requests do not count against the limits; the applicant may ask again.
        assert (await post(hub, envelope_of(eu, clock))).status_code == 202

    run(scenario())


# --- refusals: a problem naming the field, nothing stored ------------------------------------


@pytest.mark.parametrize(
    "case", ["bad signature", "wrong region", "foreign node id", "too old", "oversize", "duplicate"]
)
def test_a_refused_request_names_the_field_and_stores_nothing(
    fed: Federation, clock: Clock, case: str
) -> None:
    async def scenario() -> None:
        hub, eu = fed.hub, fed.nodes["europe"]
        key = eu.app.state.runtime.key
        good = envelope_of(eu, clock)
        other = generate()
        sent: Any
        status, field = 422, None
        if case == "bad signature":
            sent, field = {**good, "sig": b64url(key.sign(b"something else"))}, "sig"
        elif case == "wrong region":
            sent, field = resigned(good, key, region="antarctica"), "request.region"
        elif case == "foreign node id":
            # Another key claims the applicant's node id (signing with its own key).
            claim = {"public_key": other.public_b64, "node_id": eu.node_id}
            sent, field = resigned(good, other, **claim), "request.node_id"
        elif case == "too old":
            clock.advance(hours=2)
            sent, field = good, "request.created_at"
        elif case == "oversize":
            sent, field = json.dumps(good).encode() + b" " * joining.MAX_ENVELOPE_BYTES, "body"
        else:
            text = json.dumps(good)
            sent, field = ('{"type": "x", ' + text[1:]).encode(), "body"
        problem = assert_problem(await post(hub, sent), status, field=field)
        assert problem["errors"][0]["reason"]
        assert held(hub) == []

    run(scenario())


def test_a_replayed_request_changes_nothing(fed: Federation, clock: Clock) -> None:
    async def scenario() -> None:
        hub, eu = fed.hub, fed.nodes["europe"]
        envelope = envelope_of(eu, clock)
        first = await post(hub, envelope)
        assert first.status_code == 202
        before = [(r.id, r.status, r.received_at) for r in held(hub)]
        clock.advance(minutes=5)
        replay = await post(hub, envelope)
        assert assert_problem(replay, 409)["type"].endswith(":replayed")
        assert [(r.id, r.status, r.received_at) for r in held(hub)] == before

    run(scenario())


def test_a_body_over_the_global_limit_is_413(fed: Federation) -> None:
    async def scenario() -> None:
        r = await post(fed.hub, b"{" + b" " * (fed.hub.settings.max_body_bytes + 1) + b"}")
        assert_problem(r, 413)
        assert held(fed.hub) == []

    run(scenario())


def test_a_node_that_is_not_the_hub_takes_no_requests(fed: Federation, clock: Clock) -> None:
    async def scenario() -> None:
        eu = fed.nodes["europe"]
        r = await post(eu, envelope_of(eu, clock))
        assert "this node is not a hub" in assert_problem(r, 404)["detail"]
        poll = await call(eu, "GET", "/federation/join/0123456789abcdef")
        assert "not a hub" in assert_problem(poll, 404)["detail"]
        assert held(eu) == []

    run(scenario())


def test_unknown_ids_and_admin_only_routes(fed: Federation, clock: Clock) -> None:
    async def scenario() -> None:
        hub = fed.hub
        assert_problem(await call(hub, "GET", "/federation/join/0123456789abcdef"), 404)
        assert_problem(await call(hub, "GET", "/federation/join/NOT-AN-ID"), 422)
        assert_problem(await call(hub, "GET", "/admin/joins"), 401)
        assert_problem(await call(hub, "GET", "/admin/joins", headers=hub.editor), 403)
        path = "/admin/joins/0123456789abcdef/approve"
        assert_problem(await call(hub, "POST", path, headers=admin_of(hub, clock)), 404)

    run(scenario())


def test_pending_requests_are_bounded_per_address(fed: Federation, clock: Clock) -> None:
    async def scenario() -> None:
        hub, eu = fed.hub, fed.nodes["europe"]
        answers = []
        for n in range(joins.MAX_PENDING_PER_CLIENT + 2):
            key = generate()
            changes = {"node_id": node_id_for(key.public_raw), "public_key": key.public_b64}
            body = {**envelope_of(eu, clock)["request"], **changes, "name": f"Applicant {n}"}
            answers.append(await post(hub, joining.sign_join(key, body)))
        statuses = [a.status_code for a in answers]
        assert statuses == [202] * joins.MAX_PENDING_PER_CLIENT + [429, 429]
        assert "pending join requests from this address" in answers[-2].json()["detail"]
        assert "too many join requests" in answers[-1].json()["detail"]  # the rate limiter
        assert answers[-1].headers["Retry-After"]
        assert len(held(hub)) == joins.MAX_PENDING_PER_CLIENT

    run(scenario())
