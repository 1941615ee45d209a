"""Federation through key rotation and revocation (the roster's key windows), and the
bugs found at the edges: cross-origin deletes, absurd sequence numbers, duplicate names in
a page, hub key rotation and a node bootstrapping after one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session
from support.clock import Clock
from support.databases import BACKENDS, node_url_factory
from support.envelopes import sealed
from support.faults import (
    World,
    body_in,
    create_member,
    engine_of,
    envelopes,
    quarantined,
    restart,
    seqs,
    total,
    world_test,
)
from support.fedkit import call, get_json

from federation.keys import public_key
from federation.signing import header_hash, verify_envelope
from node import operator
from node.db import log, store
from node.db.engine import writer
from node.db.tables import Quarantine
from node.errors import Conflict
from node.publisher import Draft, Mode, publish
from schemas.geo import Region
from schemas.roster import NodeStatus

# --- key rotation and revocation -----------------------------------------------------------


def test_key_rotation_keeps_old_records_and_refuses_the_old_key_afterwards(
    tmp_path: Path, clock: Clock
) -> None:
    async def body(w: World) -> None:
        hub, asia, origin = w.hub, w.asia, w.eu.node_id
        before = await create_member(w.eu, "Signed with key 1")
        await w.fed.converge()
        old_key = w.eu_key
        key_id, new_public, from_seq = operator.rotate_own_key(
            engine_of(w.eu), w.eu.settings, now=clock()
        )
        assert (key_id, from_seq) == ("ed25519:2", 2)
        eu = restart(w, "europe", clock)
        assert (eu.settings.key_id, eu.settings.key_from_seq) == ("ed25519:2", 2)
        info = await get_json(eu, "/node")
        assert (info["node_id"], info["key_id"], info["public_key"], info["key_from_seq"]) == (
            origin,
            "ed25519:2",
            new_public,
            2,
        )

        # signed with the new key before the hub lists it: not trusted yet, and held back
        after = await create_member(eu, "Signed with key 2")
        assert after["record"]["record"]["key_id"] == "ed25519:2"
        result = await w.pull(asia, eu)
        assert result.stopped == [f"{origin}: UnknownKey at seq 2"]
        assert seqs(asia, origin) == [1]

        operator.rotate_listed_key(
            engine_of(hub), hub.settings, origin, info, expected_key=new_public, now=clock()
        )
        hub.sync.trust.reload()
        await w.fed.converge()
        listed = {
            n["node_id"]: n for n in (await get_json(asia, "/federation/roster"))["body"]["nodes"]
        }[origin]["keys"]
        assert [(k["key_id"], k["from_seq"], k.get("until_seq")) for k in listed] == [
            ("ed25519:1", 1, 1),
            ("ed25519:2", 2, None),
        ]
        old_public, new = public_key(old_key.public_b64), public_key(new_public)
        for node in (hub, asia):
            assert seqs(node, origin) == [1, 2]
            old_env = await get_json(node, f"/records/{before['id']}")
            verify_envelope(old_env, old_public)  # old records stay valid everywhere
            new_env = await get_json(node, f"/records/{after['id']}")
            assert new_env["record"]["key_id"] == "ed25519:2"
            verify_envelope(new_env, new)
            assert await total(node, region="europe") == 2

        # the old key, used after its until_seq, is refused
        good = await envelopes(eu)
        late = sealed(
            old_key,
            origin,
            3,
            header_hash(good[1]["record"]),
            body_in(Region.EUROPE, "Old key, too late"),
        )
        w.relay.logs[origin] = [*good, late]
        result = await w.pull_relay(asia)
        assert result.stopped == [f"{origin}: RevokedKey at seq 3"]
        assert seqs(asia, origin) == [1, 2]
        assert [q.reason for q in quarantined(asia)] == ["UnknownKey", "RevokedKey"]

    world_test(tmp_path, clock, body)


def test_a_revoked_node_new_records_are_refused_old_ones_stay(tmp_path: Path, clock: Clock) -> None:
    async def body(w: World) -> None:
        hub, eu, asia, origin = w.hub, w.eu, w.asia, w.asia.node_id
        before = await create_member(asia, "Before revocation")
        await w.fed.converge()

        operator.set_status(engine_of(hub), hub.settings, origin, NodeStatus.REVOKED, now=clock())
        hub.sync.trust.reload()
        after = await create_member(asia, "After revocation")
        # europe has not heard yet and pulls it straight from asia
        assert (await w.pull(eu, asia)).applied == 1
        # the hub does not take it when europe relays it: it asks no peer for the records of
        # an origin that is not active (docs/PROTOCOL.md 10.1), so nothing is even refused
        result = await w.pull(hub, eu)
        assert (result.stopped, result.applied) == ([], 0)
        assert quarantined(hub) == []
        assert seqs(hub, origin) == [1]

        # europe learns the roster: asia is no longer a peer, its nudges are not taken
        await eu.sync.puller.sync_all(force=True)
        assert origin not in [p.node_id for p in eu.sync.trust.peers()]
        nudge = {"node": origin, "origin": origin, "seq": 2}
        r = await call(eu, "POST", "/federation/nudge", json=nudge)
        assert (r.status_code, r.json()) == (202, {"accepted": False})
        # and refuses asia's next record, whoever relays it
        await create_member(asia, "Still publishing")
        w.relay.logs[origin] = await envelopes(asia)
        result = await w.pull_relay(eu)
        assert (result.stopped, result.applied) == ([], 0)
        assert seqs(eu, origin) == [1, 2]

        for node in (hub, eu):  # old records stay
            assert (await call(node, "GET", f"/members/{before['id']}")).status_code == 200
        assert (await call(hub, "GET", f"/members/{after['id']}")).status_code == 404

    world_test(tmp_path, clock, body)


# --- bugs ----------------------------------------------------------------------------------


def test_another_origin_cannot_delete_a_member_by_reusing_its_id(
    tmp_path: Path, clock: Clock
) -> None:
    async def body(w: World) -> None:
        member = await create_member(w.eu, "Radboudumc")
        await w.fed.converge()
        runtime = w.asia.app.state.runtime
        # asia's own publisher refuses an id that europe publishes ...
        with Session(writer(runtime.engine)) as session, pytest.raises(Conflict):
            publish(
                session,
                key=runtime.key,
                origin=w.asia.node_id,
                drafts=[Draft("member", member["id"], Mode.UPSERT, None)],
                now=clock(),
            )
        # ... and a rogue asia that bypasses it (signs a tombstone for that id in its own,
        # valid log) is refused by every peer that ingests it.
        with Session(writer(runtime.engine)) as session:
            seq = store.allocate(session, origin=w.asia.node_id, count=1)
            rogue = sealed(
                runtime.key,
                w.asia.node_id,
                seq,
                log.header_hash_at(session, origin=w.asia.node_id, seq=seq - 1),
                None,
                record_id=member["id"],
                issued_at="2026-11-24T12:00:00Z",
            )
            store.apply(session, [rogue], received_at="2026-11-24T12:00:00Z")
            session.commit()
        await w.fed.converge()
        for node in (w.hub, w.eu):
            r = await call(node, "GET", f"/members/{member['id']}")
            assert r.status_code == 200, node.host
            assert r.json()["origin"] == w.eu.node_id
            with Session(engine_of(node)) as session:
                reasons = (
                    session.execute(
                        select(Quarantine.reason).where(Quarantine.origin == w.asia.node_id)
                    )
                    .scalars()
                    .all()
                )
            assert "OutOfScope" in reasons, node.host

    world_test(tmp_path, clock, body)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_record_with_a_large_seq_is_quarantined_without_breaking_sync(
    tmp_path: Path, clock: Clock, request: pytest.FixtureRequest, backend: str
) -> None:
    urls = node_url_factory(request, tmp_path, backend)

    async def body(w: World) -> None:
        for i in range(2):
            await create_member(w.eu, f"Europe member {i}")
        good = await envelopes(w.eu)
        far = sealed(
            w.eu_key,
            w.eu.node_id,
            2**31,
            header_hash(good[1]["record"]),
            body_in(Region.EUROPE, "Far away"),
        )
        w.relay.logs[w.eu.node_id] = [good[0], good[1], far]
        result = await w.pull_relay(w.asia)
        assert result.stopped == [f"{w.eu.node_id}: gap at seq {2**31}"]
        assert seqs(w.asia, w.eu.node_id) == [1, 2]
        assert [(q.reason, q.seq) for q in quarantined(w.asia)] == [("gap", 2**31)]

    world_test(tmp_path, clock, body, urls)


def test_a_record_with_an_absurd_seq_is_quarantined_as_malformed(
    tmp_path: Path, clock: Clock
) -> None:
    async def body(w: World) -> None:
        for i in range(2):
            await create_member(w.eu, f"Europe member {i}")
        good = await envelopes(w.eu)
        absurd = {**good[1], "record": {**good[1]["record"], "seq": 2**64}}
        w.relay.logs[w.eu.node_id] = [good[0], absurd]
        result = await w.pull_relay(w.asia)  # BUG: raises OverflowError
        assert result.stopped == [f"{w.eu.node_id}: malformed at seq {2**64}"]
        assert seqs(w.asia, w.eu.node_id) == [1]
        assert [q.reason for q in quarantined(w.asia)] == ["malformed"]

    world_test(tmp_path, clock, body)


def test_a_page_with_duplicate_member_names_is_refused(tmp_path: Path, clock: Clock) -> None:
    async def body(w: World) -> None:
        for i in range(2):
            await create_member(w.eu, f"Europe member {i}")
        good = await envelopes(w.eu)
        page = {"origin": w.eu.node_id, "after": 0, "last_seq": 2, "records": good}
        raw = json.dumps(page).replace(
            '"name": "Europe member 1"', '"name": "Injected", "name": "Europe member 1"'
        )
        assert raw.count('"name"') == json.dumps(page).count('"name"') + 1
        w.relay.logs[w.eu.node_id] = good
        w.relay.raw_page = raw
        result = await w.pull_relay(w.asia)
        assert result.ok is False or result.rejected == 1
        assert seqs(w.asia, w.eu.node_id) in ([], [1])

    world_test(tmp_path, clock, body)


def test_a_hub_key_rotation_syncs_without_quarantining_valid_records(
    tmp_path: Path, clock: Clock
) -> None:
    async def body(w: World) -> None:
        await create_member(w.hub, "Hub member 1")
        await w.fed.converge()
        _, _, from_seq = operator.rotate_own_key(engine_of(w.hub), w.hub.settings, now=clock())
        hub = restart(w, "hub", clock)
        made = await create_member(hub, "Hub member 2")
        assert (made["seq"], made["record"]["record"]["key_id"]) == (from_seq, "ed25519:2")
        await w.fed.converge()
        for node in (w.eu, w.asia):
            assert (await call(node, "GET", f"/members/{made['id']}")).status_code == 200
            assert [(q.reason, q.seq) for q in quarantined(node)] == []

    world_test(tmp_path, clock, body)


def test_a_node_joining_after_a_hub_key_rotation_bootstraps(tmp_path: Path, clock: Clock) -> None:
    async def body(w: World) -> None:
        member = await create_member(w.hub, "Hub member")
        operator.rotate_own_key(engine_of(w.hub), w.hub.settings, now=clock())
        hub = restart(w, "hub", clock)
        info = await get_json(hub, "/node")
        assert info["key_id"] == "ed25519:2" and info["node_id"] == w.hub.node_id
        late = w.fed.add("late", Region.ASIA, name="Late")  # pins the key the hub shows now
        await w.fed.converge()
        assert late.sync.trust.current.version > 0
        assert (await call(late, "GET", f"/members/{member['id']}")).status_code == 200

    world_test(tmp_path, clock, body)
