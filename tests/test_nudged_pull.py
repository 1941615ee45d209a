"""A nudged pull goes straight to the page of the origin the nudge names (docs/PROTOCOL.md
10.3), and falls back to a full pull, heads first, whenever that page cannot vouch that the
receiver's roster is current: the peer trusts a newer roster, or does not say which.
"""

from __future__ import annotations

from pathlib import Path

from support.clock import Clock
from support.faults import (
    World,
    create_member,
    engine_of,
    envelopes,
    peer_state,
    quarantined,
    restart,
    seqs,
    world_test,
)
from support.fedkit import call, get_json, settle

from node import operator
from node.sync.peerbook import with_origin
from schemas.sync import Heads, OriginHead


async def nudge(w: World, receiver_name: str, sender: str, origin: str, seq: int) -> None:
    receiver = w.fed.nodes[receiver_name]
    body = {"node": sender, "origin": origin, "seq": seq}
    answer = await call(receiver, "POST", "/federation/nudge", json=body)
    assert (answer.status_code, answer.json()) == (202, {"accepted": True})
    await settle()


def test_a_nudge_costs_one_exchange_and_a_held_seq_costs_none(tmp_path: Path, clock: Clock) -> None:
    async def body(w: World) -> None:
        eu, asia = w.eu, w.asia
        made = await create_member(eu, "Nudged Clinic")
        w.fed.net.requests.clear()
        await nudge(w, "asia", eu.node_id, eu.node_id, made["seq"])
        assert w.fed.net.requests == [f"GET {eu.host}/federation/records"]
        assert seqs(asia, eu.node_id) == list(range(1, made["seq"] + 1))
        state = peer_state(asia, eu.node_id)
        assert state is not None and state.failures == 0
        # No heads were asked for, yet status shows Europe's origin as the page showed it:
        # caught up, the same prefix on both sides.
        shown = (await get_json(asia, "/federation/status"))["peers"]
        europe = next(p for p in shown if p["node_id"] == eu.node_id)["origins"][eu.node_id]
        assert europe == {"their_last_seq": made["seq"], "lag": 0, "agrees": True}

        # The same news again (from a second relay, say): held already, nothing is asked.
        w.fed.net.requests.clear()
        await nudge(w, "asia", eu.node_id, eu.node_id, made["seq"])
        assert w.fed.net.requests == []

        page = await get_json(eu, "/federation/records", origin=eu.node_id)
        assert page["roster_version"] == eu.sync.trust.current.version

    world_test(tmp_path, clock, body)


def test_a_peer_on_a_newer_roster_gets_a_full_pull_hub_first(tmp_path: Path, clock: Clock) -> None:
    """Europe rotates its key and signs with the new one; the hub lists it, Europe learns
    the new roster, Asia does not yet. Nudged by Europe, Asia must take the hub's roster
    before Europe's record, or that record would be refused as signed by an unknown key."""

    async def body(w: World) -> None:
        hub, asia, origin = w.hub, w.asia, w.eu.node_id
        await create_member(w.eu, "Signed with key 1")
        await w.pull(asia, w.eu)
        _, new_public, _ = operator.rotate_own_key(engine_of(w.eu), w.eu.settings, now=clock())
        eu = restart(w, "europe", clock)
        info = await get_json(eu, "/node")
        after = await create_member(eu, "Signed with key 2")
        operator.rotate_listed_key(
            engine_of(hub), hub.settings, origin, info, expected_key=new_public, now=clock()
        )
        hub.sync.trust.reload()
        await w.pull(eu, hub)
        assert eu.sync.trust.current.version > asia.sync.trust.current.version

        w.fed.net.requests.clear()
        await nudge(w, "asia", origin, origin, after["seq"])
        asked = w.fed.net.requests
        assert asked[:2] == [f"GET {eu.host}/federation/records", f"GET {eu.host}/federation/heads"]
        assert asia.sync.trust.current.version == eu.sync.trust.current.version
        assert seqs(asia, origin) == [1, 2]
        assert quarantined(asia) == []

    world_test(tmp_path, clock, body)


def test_a_page_that_names_no_roster_gets_a_full_pull(tmp_path: Path, clock: Clock) -> None:
    """A peer whose pages carry no ``roster_version`` (an implementation that predates it)
    cannot vouch for the roster: the nudged pull becomes a full one, heads first."""

    async def body(w: World) -> None:
        eu, asia, relay = w.eu, w.asia, w.relay_node
        made = await create_member(eu, "Relayed Clinic")
        w.relay.logs[eu.node_id] = await envelopes(eu)
        w.fed.net.requests.clear()
        await nudge(w, "asia", relay.node_id, eu.node_id, made["seq"])
        assert w.fed.net.requests[:3] == [
            f"GET {relay.host}/federation/records",
            f"GET {relay.host}/federation/heads",
            f"GET {relay.host}/federation/records",
        ]
        assert seqs(asia, eu.node_id) == list(range(1, made["seq"] + 1))

    world_test(tmp_path, clock, body)


def test_with_origin_replaces_one_origin_and_keeps_the_rest_in_order() -> None:
    def head(letter: str, seq: int) -> OriginHead:
        return OriginHead(
            origin="hn-" + letter * 24, last_seq=seq, head=None, count=seq, digest="0" * 64
        )

    kept = Heads(node="hn-" + "n" * 24, roster_version=2, origins=[head("c", 3), head("a", 1)])
    updated = with_origin(kept, head("b", 7))
    assert [(h.origin[3], h.last_seq) for h in updated.origins] == [("a", 1), ("b", 7), ("c", 3)]
    again = with_origin(updated, head("c", 9))
    assert [(h.origin[3], h.last_seq) for h in again.origins] == [("a", 1), ("b", 7), ("c", 9)]
    assert (again.node, again.roster_version) == (kept.node, kept.roster_version)
    assert [h.last_seq for h in kept.origins] == [3, 1]  # the kept heads are not changed
