"""Federation end to end: in-process nodes (tests/support/fedkit.py) pulling from each other.

Convergence of members, events, updates and deletes (also across a partition and through a
relay), the /federation endpoints (heads, record pages, range digests, status, nudges),
the roster as the gate for whose records are accepted, and the Prometheus metrics.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session
from support.clock import Clock
from support.envelopes import sealed
from support.factories import event_body, member_body
from support.fedkit import Federation, FedNode, call, get_json, settle

from federation import digest
from federation.errors import BadSignature
from federation.keys import public_key
from federation.merge import Held, Tip, Verdict, merge
from federation.signing import header_hash, verify_envelope
from node.app import create_app
from node.db.engine import writer
from node.db.log import tip as tip_of
from node.db.tables import RECORDS, Quarantine
from node.home import init_home
from node.sync.ingest import ingest_page
from schemas.geo import Region

# --- helpers -------------------------------------------------------------------------------

PLACES: dict[Region, dict[str, Any]] = {
    Region.NORTH_AMERICA: dict(
        country="US", city="Rochester", latitude=44.0225, longitude=-92.4699
    ),
    Region.EUROPE: dict(country="NL", city="Nijmegen", latitude=51.8426, longitude=5.8528),
    Region.ASIA: dict(country="JP", city="Tokyo", latitude=35.6762, longitude=139.6503),
    Region.OCEANIA: dict(country="AU", city="Sydney", latitude=-33.8688, longitude=151.2093),
}
ZONES = {
    Region.NORTH_AMERICA: "America/Chicago",
    Region.EUROPE: "Europe/Amsterdam",
    Region.ASIA: "Asia/Tokyo",
    Region.OCEANIA: "Australia/Sydney",
}


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


def sqlite_urls(tmp_path: Path) -> Callable[[str], str]:
    return lambda host: f"sqlite:///{tmp_path}/{host}.db"


def region_of(node: FedNode) -> Region:
    return node.settings.region


def member_in(node: FedNode, name: str, **overrides: Any) -> dict[str, Any]:
    region = region_of(node)
    return member_body(name=name, region=region.value, **{**PLACES[region], **overrides})


def event_in(node: FedNode, title: str) -> dict[str, Any]:
    region = region_of(node)
    place = PLACES[region]
    venue = {k: place[k] for k in ("city", "country", "latitude", "longitude")}
    return event_body(title=title, region=region.value, timezone=ZONES[region], venue=venue)


async def create_member(node: FedNode, name: str, **overrides: Any) -> dict[str, Any]:
    body = member_in(node, name, **overrides)
    r = await call(node, "POST", "/admin/members", json=body, headers=node.editor)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def create_event(node: FedNode, title: str) -> dict[str, Any]:
    r = await call(node, "POST", "/admin/events", json=event_in(node, title), headers=node.editor)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def update_member(node: FedNode, mid: str, name: str) -> dict[str, Any]:
    r = await call(
        node, "PUT", f"/admin/members/{mid}", json=member_in(node, name), headers=node.editor
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def delete_member(node: FedNode, mid: str) -> dict[str, Any]:
    r = await call(node, "DELETE", f"/admin/members/{mid}", headers=node.editor)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def total(node: FedNode, path: str = "/members", **filters: Any) -> int:
    page = await get_json(node, path, count="true", **filters)
    return int(page["total"])


async def heads_of(node: FedNode) -> dict[str, tuple[int, int, str, str | None]]:
    heads = await get_json(node, "/federation/heads")
    assert heads["node"] == node.node_id
    return {
        h["origin"]: (h["last_seq"], h["count"], h["digest"], h["head"]) for h in heads["origins"]
    }


def stored(node: FedNode, origin: str) -> list[tuple[int, int, bool, bool]]:
    """(seq, version, current, has body) of every record of ``origin`` the node holds."""
    with Session(node.app.state.runtime.engine) as session:
        rows = session.execute(
            select(RECORDS.c.seq, RECORDS.c.version, RECORDS.c.current, RECORDS.c.body)
            .where(RECORDS.c.origin == origin)
            .order_by(RECORDS.c.seq)
        ).all()
    return [(r[0], r[1], bool(r[2]), r[3] is not None) for r in rows]


def quarantined(node: FedNode) -> list[Quarantine]:
    with Session(node.app.state.runtime.engine) as session:
        return list(session.execute(select(Quarantine).order_by(Quarantine.id)).scalars())


def quiet(*nodes: FedNode) -> None:
    """No nudges after writes: the test decides who pulls when."""
    for node in nodes:
        node.settings.nudge = False


async def sync_only(*nodes: FedNode, rounds: int = 3) -> None:
    for _ in range(rounds):
        for node in nodes:
            await node.sync.puller.sync_all(force=True)
    await settle()


def three(tmp_path: Path, clock: Clock, urls: Callable[[str], str] | None = None) -> Federation:
    fed = Federation(tmp_path, clock, urls or sqlite_urls(tmp_path))
    fed.add("hub", Region.NORTH_AMERICA, hub=True, name="Mayo Clinic")
    fed.add("europe", Region.EUROPE, name="Radboud UMC")
    fed.add("asia", Region.ASIA, name="Asia leader")
    return fed


def ingest(node: FedNode, origin: str, records: list[dict[str, Any]], peer: str = "test") -> Any:
    runtime = node.app.state.runtime
    with Session(writer(runtime.engine)) as session:
        result = ingest_page(
            session,
            origin=origin,
            records=records,
            trust=node.sync.trust.current,
            peer=peer,
            now="2026-11-24T12:00:00Z",
        )
        session.commit()
    return result


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


def tip_of_node(node: FedNode, origin: str) -> tuple[int, str | None]:
    with Session(node.app.state.runtime.engine) as session:
        tip = tip_of(session, origin=origin)
    return tip.seq, tip.head


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


# --- /federation/records and /federation/digest --------------------------------------------


def test_record_pages_are_dense_exclusive_and_serve_stubs(tmp_path: Path, clock: Clock) -> None:
    async def scenario() -> None:
        fed = three(tmp_path, clock)
        hub, eu = fed.hub, fed.nodes["europe"]
        quiet(*fed.nodes.values())
        try:
            a = await create_member(eu, "Alpha")  # seq 1, becomes a stub at seq 4
            b = await create_member(eu, "Beta")  # seq 2, becomes a stub at seq 5
            await create_member(eu, "Gamma")  # seq 3
            await update_member(eu, a["id"], "Alpha v2")  # seq 4
            await delete_member(eu, b["id"])  # seq 5, a tombstone
            await fed.converge()
            eu_key = public_key(eu.app.state.runtime.key.public_b64)

            for server in (eu, hub):  # the origin and a relay serve the same pages
                full = await get_json(server, "/federation/records", origin=eu.node_id)
                assert (full["origin"], full["after"], full["last_seq"]) == (eu.node_id, 0, 5)
                envs = full["records"]
                assert [e["record"]["seq"] for e in envs] == [1, 2, 3, 4, 5]
                assert [e["body"] is None for e in envs] == [True, True, False, False, True]
                assert envs[4]["record"]["deleted"] is True
                assert (envs[0]["record"]["version"], envs[3]["record"]["version"]) == (1, 2)
                previous = None
                for env in envs:
                    verify_envelope(env, eu_key)  # stubs verify too: the header is signed
                    assert env["record"]["prev"] == previous
                    previous = header_hash(env["record"])
                assert previous == (await heads_of(server))[eu.node_id][3]

                page = await get_json(
                    server, "/federation/records", origin=eu.node_id, after=0, limit=2
                )
                assert [e["record"]["seq"] for e in page["records"]] == [1, 2]
                page = await get_json(
                    server, "/federation/records", origin=eu.node_id, after=2, limit=2
                )
                assert page["after"] == 2 and page["last_seq"] == 5
                assert [e["record"]["seq"] for e in page["records"]] == [3, 4]
                page = await get_json(server, "/federation/records", origin=eu.node_id, after=4)
                assert [e["record"]["seq"] for e in page["records"]] == [5]
                page = await get_json(server, "/federation/records", origin=eu.node_id, after=5)
                assert page["records"] == [] and page["last_seq"] == 5
                unknown = "hn-" + "a" * 24
                page = await get_json(server, "/federation/records", origin=unknown)
                assert page == {"origin": unknown, "after": 0, "last_seq": 0, "records": []}
            assert full == await get_json(eu, "/federation/records", origin=eu.node_id)

            for params in (
                {"origin": eu.node_id, "limit": 0},
                {"origin": eu.node_id, "limit": 1001},
                {"origin": eu.node_id, "after": -1},
                {"origin": "europe"},
            ):
                r = await call(hub, "GET", "/federation/records", params=params)
                assert r.status_code == 422, params
        finally:
            await fed.close()

    run(scenario())


async def range_digest(node: FedNode, origin: str, lo: int, hi: int) -> tuple[int, str]:
    d = await get_json(node, "/federation/digest", origin=origin, **{"from": lo, "to": hi})
    assert (d["origin"], d["from_seq"], d["to_seq"]) == (origin, lo, hi)
    return d["count"], d["digest"]


async def first_difference(a: FedNode, b: FedNode, origin: str, lo: int, hi: int) -> int:
    """Bisect on range digests: the first seq in [lo, hi] where a and b hold different
    records (every later link of a hash chain differs too, so prefixes are monotone)."""
    while lo < hi:
        mid = (lo + hi) // 2
        if await range_digest(a, origin, lo, mid) == await range_digest(b, origin, lo, mid):
            lo = mid + 1
        else:
            hi = mid
    return lo


def test_range_digests_combine_and_bisect_to_a_divergence(tmp_path: Path, clock: Clock) -> None:
    async def scenario() -> None:
        fed = three(tmp_path, clock)
        hub, eu, asia = fed.hub, fed.nodes["europe"], fed.nodes["asia"]
        quiet(*fed.nodes.values())
        try:
            made = [await create_member(eu, f"Member {i}") for i in range(5)]
            await fed.converge()
            await update_member(eu, made[0]["id"], "Member 0 renamed")  # seq 6
            await create_member(eu, "Member 6")  # seq 7
            await create_member(eu, "Member 7")  # seq 8
            origin = eu.node_id

            # identical data, identical digests over every range; halves combine to the whole
            await hub.sync.puller.sync_all(force=True)
            count, whole = await range_digest(hub, origin, 1, 8)
            assert (count, whole) == (8, (await heads_of(hub))[origin][2])
            (c1, d1), (c2, d2) = [
                await range_digest(hub, origin, 1, 4),
                await range_digest(hub, origin, 5, 8),
            ]
            assert (c1, c2) == (4, 4)
            assert digest.add(d1, int(d2, 16)) == whole
            assert (await range_digest(hub, origin, 1, 10**6)) == (8, whole)
            assert (await range_digest(hub, origin, 9, 20)) == (0, digest.EMPTY)
            for lo, hi in ((1, 8), (1, 4), (5, 8), (3, 3)):
                assert await range_digest(eu, origin, lo, hi) == await range_digest(
                    hub, origin, lo, hi
                )
            r = await call(
                hub, "GET", "/federation/digest", params={"origin": origin, "from": 5, "to": 4}
            )
            assert r.status_code == 422

            # asia receives a different seq 6.. (an equivocating europe, forked at seq 6)
            key = eu.app.state.runtime.key
            seq, prev = tip_of_node(asia, origin)
            assert seq == 5
            fork = []
            for i in range(3):
                env = sealed(
                    key,
                    origin,
                    seq + 1 + i,
                    prev,
                    member_in(eu, f"Fork {i}"),
                    issued_at="2026-11-24T13:00:00Z",
                )
                prev = header_hash(env["record"])
                fork.append(env)
            assert ingest(asia, origin, fork).applied == 3
            assert (await heads_of(asia))[origin][:2] == (await heads_of(hub))[origin][:2]
            assert (await heads_of(asia))[origin][2] != (await heads_of(hub))[origin][2]
            # only the range holding the divergence differs; bisecting finds its first seq
            assert await range_digest(asia, origin, 1, 4) == await range_digest(hub, origin, 1, 4)
            assert await range_digest(asia, origin, 5, 8) != await range_digest(hub, origin, 5, 8)
            assert await range_digest(asia, origin, 5, 5) == await range_digest(hub, origin, 5, 5)
            assert await first_difference(asia, hub, origin, 1, 8) == 6

            # the operator's status shows the disagreement with the hub at equal length
            await asia.sync.puller.pull(asia.sync.trust.current.nodes[hub.node_id], force=True)
            status = await get_json(asia, "/federation/status")
            view = {p["node_id"]: p for p in status["peers"]}[hub.node_id]["origins"][origin]
            assert view == {"their_last_seq": 8, "lag": 0, "agrees": False}
            assert status["alarms"] == []
            # and europe's next record cannot extend asia's fork: equivocation, an alarm
            await create_member(eu, "Member 8")
            await hub.sync.puller.sync_all(force=True)
            await asia.sync.puller.pull(asia.sync.trust.current.nodes[hub.node_id], force=True)
            status = await get_json(asia, "/federation/status")
            assert [(a["origin"], a["seq"], a["peer"]) for a in status["alarms"]] == [
                (origin, 9, hub.node_id)
            ]
            assert tip_of_node(asia, origin)[0] == 8
        finally:
            await fed.close()

    run(scenario())


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
            assert fed.net.requests == [
                "GET europe.test/federation/heads",
                "GET europe.test/federation/records",
            ]
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
