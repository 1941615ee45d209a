"""The sync endpoints a peer reads: /federation/heads, record pages and range digests."""

from __future__ import annotations

from pathlib import Path

from support.clock import Clock
from support.envelopes import sealed
from support.federation_world import (
    create_member,
    delete_member,
    heads_of,
    ingest,
    member_in,
    quiet,
    run,
    three,
    tip_of_node,
    update_member,
)
from support.fedkit import FedNode, call, get_json

from federation import digest
from federation.keys import public_key
from federation.signing import header_hash, verify_envelope

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
                assert page == {
                    "origin": unknown,
                    "after": 0,
                    "last_seq": 0,
                    "roster_version": server.sync.trust.current.version,
                    "records": [],
                }
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

            # at equal length the heads disagree: asia fetches the hub's seq 8 and holds two
            # headers europe signed for it, a proof (docs/PROTOCOL.md 10.8), and an alarm
            await asia.sync.puller.pull(asia.sync.trust.current.nodes[hub.node_id], force=True)
            status = await get_json(asia, "/federation/status")
            view = {p["node_id"]: p for p in status["peers"]}[hub.node_id]["origins"][origin]
            assert view == {"their_last_seq": 8, "lag": 0, "agrees": False}
            alarms = [(a["origin"], a["seq"], a["peer"], a["proof"]) for a in status["alarms"]]
            assert alarms == [(origin, 8, hub.node_id, True)]
            # europe's next record cannot extend asia's fork: refused, and the same split
            # view (one alarm, not two)
            await create_member(eu, "Member 8")
            await hub.sync.puller.sync_all(force=True)
            await asia.sync.puller.pull(asia.sync.trust.current.nodes[hub.node_id], force=True)
            status = await get_json(asia, "/federation/status")
            assert [(a["origin"], a["seq"]) for a in status["alarms"]] == [(origin, 8)]
            assert status["quarantine"]["by_reason"] == {"equivocation": 1}
            assert tip_of_node(asia, origin)[0] == 8
        finally:
            await fed.close()

    run(scenario())
