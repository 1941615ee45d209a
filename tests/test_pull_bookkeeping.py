"""What a pull reads and writes of its own: the tips read once, the chain hashes read in
one session, and the peer's heads kept with the outcome of an idle pull (one write)."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session
from support.clock import Clock
from support.factories import member_body
from support.federation_world import create_member, peer_entry, quiet, run, three
from support.nodes import Node

from node.db import log, peers
from node.db.session import Engine
from node.db.tables import Peer
from schemas.roster import RosterNode


def test_tips_and_hashes_read_together_match_the_one_by_one_reads(node: Node) -> None:
    for i in range(3):
        body = member_body(name=f"Member {i}")
        assert node.client.post("/admin/members", json=body, headers=node.editor).status_code == 201
    origin = node.settings.node_id
    with Session(node.engine) as session:
        assert log.tips(session) == {origin: log.tip(session, origin=origin).seq} == {origin: 3}
        asked = [(origin, 0), (origin, 1), (origin, 3), (origin, 4), ("hn-" + "a" * 24, 1)]
        found = log.header_hashes_at(session, at=asked)
        one_by_one = {(o, s): log.header_hash_at(session, origin=o, seq=s) for o, s in asked}
    assert found == {k: v for k, v in one_by_one.items() if v is not None}
    assert set(found) == {(origin, 1), (origin, 3)}
    assert found[(origin, 3)] == log.tip(Session(node.engine), origin=origin).head


def _peer_row(engine: Engine, node_id: str) -> Peer:
    with Session(engine) as session:
        row = session.get(Peer, node_id)
        assert row is not None
        return row


def _shown_seq(engine: Engine, peer: str) -> int:
    """The last seq of its own origin that ``peer``'s kept heads show."""
    with Session(engine) as session:
        seen = peers.heads_seen(session)[peer]
    return {h.origin: h.last_seq for h in seen.origins}[peer]


def test_an_idle_pull_keeps_the_heads_it_was_shown_with_its_outcome(
    tmp_path: Path, clock: Clock
) -> None:
    async def scenario() -> None:
        fed = three(tmp_path, clock)
        hub, eu, asia = fed.hub, fed.nodes["europe"], fed.nodes["asia"]
        quiet(hub, eu, asia)
        try:
            await create_member(asia, "Asia member 0")
            await fed.converge()
            peer = peer_entry(eu, asia)
            assert isinstance(peer, RosterNode)

            clock.advance(minutes=5)  # an idle pull: Europe holds all that Asia holds
            result = await eu.sync.puller.pull(peer, force=True)
            assert result.ok and result.applied == 0
            row = _peer_row(eu.app.state.runtime.engine, asia.node_id)
            assert row.heads_at == row.last_success  # kept in the outcome's write
            assert _shown_seq(eu.app.state.runtime.engine, asia.node_id) == 1

            clock.advance(minutes=5)  # now Asia holds more: the heads are new ones
            await create_member(asia, "Asia member 1")
            result = await eu.sync.puller.pull(peer, force=True)
            assert result.ok and result.applied == 1
            assert _shown_seq(eu.app.state.runtime.engine, asia.node_id) == 2
            row = _peer_row(eu.app.state.runtime.engine, asia.node_id)
            assert row.heads_at == row.last_success
        finally:
            await fed.close()

    run(scenario())


def test_a_long_pull_shows_the_heads_while_it_runs(tmp_path: Path, clock: Clock) -> None:
    async def scenario() -> None:
        fed = three(tmp_path, clock)
        hub, eu, asia = fed.hub, fed.nodes["europe"], fed.nodes["asia"]
        quiet(hub, eu, asia)
        try:
            await fed.converge()
            for i in range(5):
                await create_member(asia, f"Asia member {i}")
            peer = peer_entry(eu, asia)
            assert isinstance(peer, RosterNode)
            eu.settings.sync_page_size = 2  # five records behind: more than a page
            puller = eu.sync.puller
            engine = eu.app.state.runtime.engine
            shown: list[int] = []

            def after_page(origin: str, result: object) -> None:
                shown.append(_shown_seq(engine, asia.node_id))

            puller.on_page = after_page
            clock.advance(minutes=5)
            result = await puller.pull(peer, force=True)
            assert result.ok and result.applied == 5
            assert shown == [5, 5, 5]  # the peer's heads were kept before the first page
        finally:
            await fed.close()

    run(scenario())
