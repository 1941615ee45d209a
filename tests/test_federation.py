"""Federation end to end: in-process nodes (tests/support/fedkit.py) pulling from each
other until they converge: members, events, updates and deletes, also across a partition
and through a relay.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from support.clock import Clock
from support.federation_world import (
    create_event,
    create_member,
    delete_member,
    heads_of,
    ingest,
    quiet,
    run,
    stored,
    sync_only,
    three,
    tip_of_node,
    total,
    update_member,
)
from support.fedkit import call, get_json

from federation.errors import BadSignature
from federation.keys import public_key
from federation.merge import Held, Tip, Verdict, merge
from federation.signing import header_hash, verify_envelope

# --- convergence ---------------------------------------------------------------------------


def test_three_nodes_converge_and_agree(
    tmp_path: Path, clock: Clock, node_urls: Callable[[str], str]
) -> None:
    async def scenario() -> None:
        fed = three(tmp_path, clock, node_urls)
        hub, eu, asia = fed.hub, fed.nodes["europe"], fed.nodes["asia"]
        try:
            for node, count in ((hub, 2), (eu, 3), (asia, 1)):
                for i in range(count):
                    await create_member(node, f"{node.settings.name} member {i}")
            await create_event(eu, "Health Social Media Day Europe")
            await create_event(asia, "Tokyo Digital Health Meetup")
            await fed.converge()

            for node in fed.nodes.values():
                assert await total(node) == 6
                assert await total(node, region="north-america") == 2
                assert await total(node, region="europe") == 3
                assert await total(node, region="asia") == 1
                assert await total(node, country="JP") == 1
                assert await total(node, "/events", region="europe") == 1
                assert await total(node, "/events") == 2
                found = await get_json(node, "/members", q="radboud member 2")
                assert [m["origin"] for m in found["items"]] == [eu.node_id]

            heads = [await heads_of(node) for node in fed.nodes.values()]
            assert set(heads[0]) == {hub.node_id, eu.node_id, asia.node_id}
            assert heads[0] == heads[1] == heads[2]
            assert heads[0][eu.node_id][:2] == (4, 4)  # 3 members + 1 event, dense
            assert heads[0][asia.node_id][:2] == (2, 2)

            for node in fed.nodes.values():
                status = await get_json(node, "/federation/status")
                assert status["node"] == node.node_id and status["hub"] == hub.node_id
                assert len(status["peers"]) == 2
                for peer in status["peers"]:
                    assert peer["healthy"] is True and peer["failures"] == 0, peer
                    assert peer["origins"], peer
                    assert all(o["agrees"] and o["lag"] == 0 for o in peer["origins"].values())
                assert status["quarantine"]["total"] == 0
                assert status["alarms"] == []
        finally:
            await fed.close()

    run(scenario())


def test_updates_and_deletes_propagate_even_to_a_node_that_was_down(
    tmp_path: Path, clock: Clock
) -> None:
    async def scenario() -> None:
        fed = three(tmp_path, clock)
        hub, eu, asia = fed.hub, fed.nodes["europe"], fed.nodes["asia"]
        try:
            keep = await create_member(eu, "Radboudumc")
            gone = await create_member(eu, "Erasmus MC")
            await fed.converge()
            old_gone = await get_json(asia, f"/records/{gone['id']}")
            assert old_gone["record"]["version"] == 1 and old_gone["body"] is not None

            await update_member(eu, keep["id"], "Radboudumc Nijmegen")
            await fed.converge()
            for node in fed.nodes.values():
                r = await call(node, "GET", f"/members/{keep['id']}")
                assert r.status_code == 200
                assert r.headers["etag"] == '"2"'
                assert r.json()["name"] == "Radboudumc Nijmegen"

            # asia is partitioned away during the delete; the others keep syncing
            fed.net.down.add(asia.host)
            await delete_member(eu, gone["id"])
            await sync_only(hub, eu)
            for node in (hub, eu):
                assert (await call(node, "GET", f"/members/{gone['id']}")).status_code == 404
                assert await total(node, q="erasmus") == 0
                tomb = await get_json(node, f"/records/{gone['id']}")
                assert tomb["record"]["deleted"] is True and tomb["body"] is None
            assert (await call(asia, "GET", f"/members/{gone['id']}")).status_code == 200
            # the hub tried asia and backed it off
            status = await get_json(hub, "/federation/status")
            by_id = {p["node_id"]: p for p in status["peers"]}
            assert by_id[asia.node_id]["healthy"] is False
            assert by_id[asia.node_id]["failures"] >= 1

            fed.net.down.discard(asia.host)
            await fed.converge()
            for node in fed.nodes.values():
                assert (await call(node, "GET", f"/members/{gone['id']}")).status_code == 404
                assert await total(node, q="erasmus") == 0
                assert await total(node, region="europe") == 1
                tomb = await get_json(node, f"/records/{gone['id']}")
                assert tomb["record"]["version"] == 2 and tomb["record"]["deleted"] is True
            assert (await heads_of(asia)) == (await heads_of(hub)) == (await heads_of(eu))

            # A stale copy cannot bring the deleted record back: re-serving the old version
            # (at its own seq) is a duplicate, and by the merge rules an older version at a
            # new seq would only be history (see test_federation_faults for a replay).
            again = ingest(asia, eu.node_id, [old_gone])
            assert (again.duplicates, again.applied, again.history) == (1, 0, 0)
            tip = tip_of_node(asia, eu.node_id)
            header = {**old_gone["record"], "seq": tip[0] + 1, "prev": tip[1]}
            verdict = merge(
                header,
                old_gone["body"],
                incoming_hash=header_hash(header),
                tip=Tip(*tip),
                held_at_seq=None,
                current=Held(2, header_hash(tomb["record"])),
                claimed_by=None,
            )
            assert verdict is Verdict.HISTORY
            assert (await call(asia, "GET", f"/members/{gone['id']}")).status_code == 404
            assert await total(asia, q="erasmus") == 0
            assert stored(asia, eu.node_id)[1] == (2, 1, False, False)  # v1 kept as a stub
        finally:
            await fed.close()

    run(scenario())


def test_records_relay_through_the_hub_and_still_verify(tmp_path: Path, clock: Clock) -> None:
    async def scenario() -> None:
        fed = three(tmp_path, clock)
        hub, eu, asia = fed.hub, fed.nodes["europe"], fed.nodes["asia"]
        quiet(hub, eu, asia)
        try:
            await fed.converge()  # the roster everywhere, no data yet
            made = [await create_member(eu, f"Europe member {i}") for i in range(3)]
            await hub.sync.puller.sync_all(force=True)  # the hub pulls europe ...
            fed.net.down.add(eu.host)  # ... then asia can no longer reach europe
            fed.net.requests.clear()
            results = {r.peer: r for r in await asia.sync.puller.sync_all(force=True)}
            assert results[eu.node_id].ok is False
            assert results[hub.node_id].ok is True and results[hub.node_id].applied == 3
            assert "GET europe.test/federation/records" not in fed.net.requests
            assert "GET hub.test/federation/records" in fed.net.requests

            assert await total(asia, region="europe") == 3
            assert stored(asia, eu.node_id) == [
                (1, 1, True, True),
                (2, 1, True, True),
                (3, 1, True, True),
            ]
            # the relayed records are europe's own, signed with europe's key as the roster
            # lists it, and verify offline
            roster = await get_json(asia, "/federation/roster")
            listed = {n["node_id"]: n for n in roster["body"]["nodes"]}[eu.node_id]
            assert listed["keys"][0]["public_key"] == eu.app.state.runtime.key.public_b64
            eu_key = public_key(listed["keys"][0]["public_key"])
            hub_key = public_key(hub.app.state.runtime.key.public_b64)
            for m in made:
                env = await get_json(asia, f"/records/{m['id']}")
                assert env["record"]["origin"] == eu.node_id
                verify_envelope(env, eu_key)
                assert env == m["record"]
                with pytest.raises(BadSignature):
                    verify_envelope(env, hub_key)  # not the relay's signature
            assert (await heads_of(asia))[eu.node_id] == (await heads_of(hub))[eu.node_id]
        finally:
            await fed.close()

    run(scenario())
