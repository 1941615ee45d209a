"""The roster as the gate for whose records are accepted, and the nudges and Prometheus
metrics of sync.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session
from support.clock import Clock
from support.federation_world import (
    create_event,
    create_member,
    delete_member,
    heads_of,
    ingest,
    quarantined,
    quiet,
    run,
    stored,
    three,
    total,
)
from support.fedkit import FedNode, call, get_json, settle

from node.app import create_app
from node.db.engine import writer
from node.home import init_home
from schemas.geo import Region

# --- the roster ----------------------------------------------------------------------------


def test_a_node_admitted_later_gets_everything(tmp_path: Path, clock: Clock) -> None:
    async def scenario() -> None:
        fed = three(tmp_path, clock)
        hub, eu, asia = fed.hub, fed.nodes["europe"], fed.nodes["asia"]
        try:
            for node in (hub, eu, asia):
                await create_member(node, f"{node.settings.name} member")
            gone = await create_member(eu, "Short-lived")
            await delete_member(eu, gone["id"])
            await create_event(asia, "Tokyo meetup")
            await fed.converge()

            late = fed.add("oceania", Region.OCEANIA, name="Oceania leader")
            assert late.sync.trust.current.version == 0  # only the pinned hub key so far
            await create_member(late, "Sydney Health")
            await fed.converge()
            assert late.sync.trust.current.version > 0
            assert await total(late) == 4
            assert await total(late, "/events") == 1
            assert (await call(late, "GET", f"/members/{gone['id']}")).status_code == 404
            everyone = [await heads_of(n) for n in fed.nodes.values()]
            assert all(h == everyone[0] for h in everyone)
            assert set(everyone[0]) == {n.node_id for n in fed.nodes.values()}
            for node in (hub, eu, asia):
                assert await total(node, region="oceania") == 1
        finally:
            await fed.close()

    run(scenario())


def test_records_of_a_node_not_in_the_roster_are_refused(tmp_path: Path, clock: Clock) -> None:
    async def scenario() -> None:
        fed = three(tmp_path, clock)
        hub, asia = fed.hub, fed.nodes["asia"]
        quiet(*fed.nodes.values())
        try:
            await fed.converge()
            # a node that knows the hub but was never admitted
            settings = init_home(
                tmp_path / "rogue",
                name="Rogue",
                region=Region.ASIA,
                url="http://rogue.test",
                database_url=f"sqlite:///{tmp_path}/rogue.db",
                hub_url="http://hub.test",
                hub_key=hub.app.state.runtime.key.public_b64,
            )
            app = create_app(settings, clock=clock, http=fed.http, schedule=False)
            rogue = FedNode("rogue.test", settings, app, {})
            fed.net.add(rogue.host, app)
            with Session(writer(app.state.runtime.engine)) as session:
                from node import tokens

                _, secret = tokens.create_token(
                    session, role=tokens.Role.EDITOR, label="t", now=clock()
                )
                session.commit()
            rogue.editor = {"Authorization": f"Bearer {secret}"}
            await create_member(rogue, "Rogue Hospital")
            await create_member(rogue, "Rogue Clinic")
            assert rogue.node_id not in asia.sync.trust.current.nodes

            # pulled like a peer: its heads are read, its origin is not trusted, nothing lands
            entry = asia.sync.trust.current.nodes[hub.node_id].model_copy(
                update={"node_id": rogue.node_id, "url": "http://rogue.test"}
            )
            fed.net.requests.clear()
            result = await asia.sync.puller.pull(entry, force=True)
            assert result.applied == 0
            assert "GET rogue.test/federation/heads" in fed.net.requests
            assert "GET rogue.test/federation/records" not in fed.net.requests
            assert stored(asia, rogue.node_id) == []

            # handed over directly: refused with UnknownKey, quarantined, nothing stored
            page = await get_json(rogue, "/federation/records", origin=rogue.node_id)
            result = ingest(asia, rogue.node_id, page["records"], peer=rogue.node_id)
            assert (result.applied, result.rejected) == (0, {"UnknownKey": 1})
            assert result.stopped == "UnknownKey at seq 1"
            assert stored(asia, rogue.node_id) == []
            (q,) = quarantined(asia)
            assert (q.reason, q.origin, q.seq, q.peer) == (
                "UnknownKey",
                rogue.node_id,
                1,
                rogue.node_id,
            )
            assert await total(asia, q="rogue") == 0
            assert rogue.node_id not in await heads_of(asia)
            app.state.runtime.engine.dispose()
        finally:
            await fed.close()

    run(scenario())


# --- nudges and metrics --------------------------------------------------------------------


def test_nudges_make_peers_pull_now(tmp_path: Path, clock: Clock) -> None:
    async def scenario() -> None:
        fed = three(tmp_path, clock)
        hub, eu, asia = fed.hub, fed.nodes["europe"], fed.nodes["asia"]
        quiet(*fed.nodes.values())
        try:
            await fed.converge()
            made = await create_member(eu, "Nudged Hospital")
            assert await total(hub, region="europe") == 0  # no nudge, no pull yet

            eu.settings.nudge = True
            fed.net.requests.clear()
            await eu.sync.nudger.nudge_peers(made["seq"])
            await settle()
            assert "POST hub.test/federation/nudge" in fed.net.requests
            assert "POST asia.test/federation/nudge" in fed.net.requests
            assert fed.net.requests.count("GET europe.test/federation/records") == 2
            for node in (hub, asia):
                assert await total(node, region="europe") == 1

            # the endpoint itself: a known peer is pulled, an unknown node is not
            eu.settings.nudge = False
            second = await create_member(eu, "Second Hospital")
            assert await total(hub, region="europe") == 1
            fed.net.requests.clear()
            nudge = {"node": eu.node_id, "origin": eu.node_id, "seq": second["seq"]}
            r = await call(hub, "POST", "/federation/nudge", json=nudge)
            assert (r.status_code, r.json()) == (202, {"accepted": True})
            assert fed.net.requests == ["GET europe.test/federation/records"]  # no heads
            assert await total(hub, region="europe") == 2
            stranger = {"node": "hn-" + "a" * 24, "origin": "hn-" + "a" * 24, "seq": 1}
            fed.net.requests.clear()
            r = await call(hub, "POST", "/federation/nudge", json=stranger)
            assert (r.status_code, r.json()) == (202, {"accepted": False})
            assert fed.net.requests == []
            itself = {"node": hub.node_id, "origin": hub.node_id, "seq": 1}
            r = await call(hub, "POST", "/federation/nudge", json=itself)
            assert r.json() == {"accepted": False}
            for bad in (
                {"node": "x", "origin": eu.node_id, "seq": 1},
                {**nudge, "seq": 0},
                {**nudge, "extra": 1},
            ):
                assert (await call(hub, "POST", "/federation/nudge", json=bad)).status_code == 422
        finally:
            await fed.close()

    run(scenario())


def test_writes_nudge_peers_by_themselves(tmp_path: Path, clock: Clock) -> None:
    async def scenario() -> None:
        fed = three(tmp_path, clock)
        hub, eu, asia = fed.hub, fed.nodes["europe"], fed.nodes["asia"]
        try:
            await fed.converge()
            await create_member(asia, "Nudging Hospital")  # settles the background pulls
            for node in (hub, eu):
                assert await total(node, region="asia") == 1
        finally:
            await fed.close()

    run(scenario())


def test_metrics_after_a_sync(tmp_path: Path, clock: Clock) -> None:
    async def scenario() -> None:
        fed = three(tmp_path, clock)
        hub, eu = fed.hub, fed.nodes["europe"]
        quiet(*fed.nodes.values())
        try:
            for i in range(3):
                await create_member(eu, f"Metric member {i}")
            await fed.converge()
            r = await call(hub, "GET", "/metrics")
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/plain")
            lines = r.text.splitlines()
            assert "# TYPE healthnet_records_ingested_total counter" in lines
            assert f'healthnet_records_ingested_total{{origin="{eu.node_id}"}} 3.0' in lines
            assert f'healthnet_sync_lag_records{{origin="{eu.node_id}"}} 0.0' in lines
            assert f'healthnet_peer_up{{peer="{eu.node_id}"}} 1.0' in lines
            assert "healthnet_quarantine_records 0.0" in lines

            # the hub sees europe two records ahead but may fetch only one page of one
            await create_member(eu, "One more")
            await create_member(eu, "And another")
            hub.settings.sync_page_size, hub.settings.sync_max_pages = 1, 1
            await hub.sync.puller.pull(hub.sync.trust.current.nodes[eu.node_id], force=True)
            lines = (await call(hub, "GET", "/metrics")).text.splitlines()
            assert f'healthnet_records_ingested_total{{origin="{eu.node_id}"}} 4.0' in lines
            assert f'healthnet_sync_lag_records{{origin="{eu.node_id}"}} 1.0' in lines
        finally:
            await fed.close()

    run(scenario())


def test_a_federated_name_with_dots_is_found_on_every_node(
    tmp_path: Path, clock: Clock, node_urls: Callable[[str], str]
) -> None:
    """Both backends index the same words (PostgreSQL would keep '2.0' as one token)."""

    async def scenario() -> None:
        fed = three(tmp_path, clock, node_urls)
        quiet(*fed.nodes.values())
        try:
            made = await create_member(fed.nodes["europe"], "Health 2.0 Europe")
            await create_member(fed.nodes["europe"], "Health Europe")
            await fed.converge()
            for node in fed.nodes.values():
                for q in ("health 2.0", "2.0 europe", "health 2"):
                    found = await get_json(node, "/members", q=q)
                    assert [m["id"] for m in found["items"]] == [made["id"]], (node.host, q)
        finally:
            await fed.close()

    run(scenario())
