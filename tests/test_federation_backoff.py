"""Federation under failing peers: bad HTTP answers, peers that are down, backoff with the
injected clock, and a crash in the middle of a page (nothing half-written; sync resumes).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from support.clock import Clock
from support.faults import (
    World,
    create_member,
    envelopes,
    heads_of,
    peer_state,
    quarantined,
    seqs,
    stored,
    tip,
    total,
    world_test,
)
from support.fedkit import call, get_json

from federation.errors import PeerBadResponse
from node.db import store
from node.sync.client import PeerClient

# --- bad responses, unreachable peers, backoff ---------------------------------------------


def test_bad_responses_are_peer_errors_and_back_the_peer_off(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def body(w: World) -> None:
        for i in range(3):
            await create_member(w.eu, f"Europe member {i}")
        good = await envelopes(w.eu)
        w.relay.logs[w.eu.node_id] = good
        relay_id, origin = w.relay_node.node_id, w.eu.node_id

        # an answer over the client's byte limit
        client = PeerClient(w.fed.http, max_bytes=4096)
        assert len((await client.heads(relay_id, "http://relay.test")).origins) == 1
        w.relay.padding = 8000
        with pytest.raises(PeerBadResponse, match="over 4096 bytes") as caught:
            await client.records(relay_id, "http://relay.test", origin=origin, after=0, limit=10)
        assert caught.value.peer == relay_id
        puller = w.asia.sync.puller
        monkeypatch.setattr(puller, "client", PeerClient(puller.client.http, max_bytes=4096))
        result = await w.pull_relay(w.asia)
        assert result.ok is False and "over 4096 bytes" in result.error
        assert stored(w.asia, origin) == []
        state = peer_state(w.asia, relay_id)
        assert state is not None and state.failures == 1
        assert state.next_attempt is not None and state.next_attempt > ts(clock)
        assert "over 4096 bytes" in state.last_error
        monkeypatch.undo()

        # answers that are not the protocol
        w.relay.padding = 0
        for raw, error in (
            ("this is not json", "not JSON"),
            (
                json.dumps({"origin": origin, "after": 0, "last_seq": 3, "records": "x"}),
                "not the protocol",
            ),
            (
                json.dumps({"origin": origin, "after": 7, "last_seq": 3, "records": []}),
                "not the one asked for",
            ),
            (
                json.dumps({"origin": relay_id, "after": 0, "last_seq": 3, "records": good}),
                "not the one asked for",
            ),
            (json.dumps([1, 2, 3]), "not the protocol"),
        ):
            w.relay.raw_page = raw
            result = await w.pull_relay(w.asia)
            assert result.ok is False and error in result.error, (raw, result)
            assert stored(w.asia, origin) == []
        assert peer_state(w.asia, relay_id).failures == 6  # type: ignore[union-attr]
        w.relay.raw_page = None
        result = await w.pull_relay(w.asia)
        assert result.ok is True and result.applied == 3
        state = peer_state(w.asia, relay_id)
        assert state is not None and (state.failures, state.next_attempt) == (0, None)
        assert quarantined(w.asia) == []

    world_test(tmp_path, clock, body)


def ts(clock: Clock) -> str:
    return clock().strftime("%Y-%m-%dT%H:%M:%S") + "Z"


def test_http_500_backoff_skip_retry_and_reset(tmp_path: Path, clock: Clock) -> None:
    async def body(w: World) -> None:
        relay_id = w.relay_node.node_id
        await create_member(w.eu, "Europe member")
        w.relay.status = 500
        w.fed.net.requests.clear()
        results = {r.peer: r for r in await w.asia.sync.puller.sync_all()}
        assert results[relay_id].ok is False and "answered 500" in results[relay_id].error
        assert results[w.eu.node_id].ok is True and results[w.eu.node_id].applied == 1
        assert "GET relay.test/federation/heads" in w.fed.net.requests
        state = peer_state(w.asia, relay_id)
        assert state is not None and state.failures == 1
        assert state.last_success == "2026-11-24T12:00:00Z"  # when it was still honest
        first_retry = state.next_attempt
        assert first_retry is not None and ts(clock) < first_retry <= "2026-11-24T12:00:05Z"
        status = await get_json(w.asia, "/federation/status")
        view = {p["node_id"]: p for p in status["peers"]}[relay_id]
        assert (view["healthy"], view["failures"]) == (False, 1)
        assert "answered 500" in view["last_error"]
        metrics = (await call(w.asia, "GET", "/metrics")).text
        assert f'healthnet_peer_consecutive_failures{{peer="{relay_id}"}} 1.0' in metrics
        assert f'healthnet_peer_up{{peer="{relay_id}"}} 0.0' in metrics

        # in backoff: skipped, not waited on; the other peers are still pulled
        w.fed.net.requests.clear()
        results = {r.peer: r for r in await w.asia.sync.puller.sync_all()}
        assert (results[relay_id].ok, results[relay_id].error) == (False, "backing off")
        assert not any("relay.test" in req for req in w.fed.net.requests)
        assert "GET europe.test/federation/heads" in w.fed.net.requests
        assert peer_state(w.asia, relay_id).failures == 1  # type: ignore[union-attr]

        # after next_attempt it is tried again (and fails again: a longer backoff)
        clock.advance(seconds=6)
        w.fed.net.requests.clear()
        results = {r.peer: r for r in await w.asia.sync.puller.sync_all()}
        assert "GET relay.test/federation/heads" in w.fed.net.requests
        state = peer_state(w.asia, relay_id)
        assert state is not None and state.failures == 2
        assert state.next_attempt is not None and state.next_attempt > ts(clock)

        # recovered: the next due attempt succeeds and resets the count
        w.relay.status = 200
        clock.advance(seconds=11)
        results = {r.peer: r for r in await w.asia.sync.puller.sync_all()}
        assert results[relay_id].ok is True
        state = peer_state(w.asia, relay_id)
        assert state is not None and (state.failures, state.next_attempt) == (0, None)
        assert state.last_success == ts(clock)
        status = await get_json(w.asia, "/federation/status")
        assert {p["node_id"]: p for p in status["peers"]}[relay_id]["healthy"] is True

    world_test(tmp_path, clock, body)


def test_a_peer_that_is_down_never_stops_sync_with_the_others(tmp_path: Path, clock: Clock) -> None:
    async def body(w: World) -> None:
        hub, eu, asia = w.hub, w.eu, w.asia
        w.fed.net.down.add(hub.host)  # the hub is everyone's first peer
        w.relay.status = 500
        eu_member = await create_member(eu, "Europe member")
        asia_member = await create_member(asia, "Asia member")
        for node in (eu, asia):
            results = {r.peer: r for r in await node.sync.puller.sync_all(force=True)}
            assert results[hub.node_id].ok is False
            assert "ConnectError" in results[hub.node_id].error
            assert results[w.relay_node.node_id].ok is False
        await eu.sync.puller.sync_all(force=True)
        for node in (eu, asia):
            for m in (eu_member, asia_member):
                assert (await call(node, "GET", f"/members/{m['id']}")).status_code == 200
            state = peer_state(node, hub.node_id)
            assert state is not None and state.failures >= 1
        assert (await heads_of(eu)) == (await heads_of(asia))

        # the hub comes back and catches up through its backoff
        w.fed.net.down.discard(hub.host)
        clock.advance(hours=1)
        await hub.sync.puller.sync_all()
        assert await total(hub) == 2
        for node in (eu, asia):
            await node.sync.puller.sync_all()
            assert peer_state(node, hub.node_id).failures == 0  # type: ignore[union-attr]

    world_test(tmp_path, clock, body)


# --- crash safety --------------------------------------------------------------------------


def test_a_crash_mid_page_leaves_nothing_and_sync_resumes(
    tmp_path: Path, clock: Clock, node_urls: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def body(w: World) -> None:
        made = [await create_member(w.eu, f"Europe member {i}") for i in range(6)]
        origin = w.eu.node_id
        w.asia.settings.sync_page_size = 2
        real_apply = store.apply
        calls: list[int] = []

        def crashing_apply(session: Session, envelopes: Any, **kwargs: Any) -> None:
            calls.append(len(envelopes))
            real_apply(session, envelopes, **kwargs)  # the page's rows are written ...
            if len(calls) == 2:
                raise RuntimeError("simulated crash")  # ... and never committed

        monkeypatch.setattr(store, "apply", crashing_apply)
        # The pull's job boundary catches the crash: the peer is counted as failed (backoff),
        # the half-applied page is rolled back, and other peers would still be pulled.
        crashed = await w.pull(w.asia, w.eu)
        monkeypatch.undo()
        assert not crashed.ok and crashed.error == "internal: RuntimeError"
        assert calls == [2, 2]
        assert stored(w.asia, origin) == [(1, 1, True, True), (2, 1, True, True)]
        assert tip(w.asia, origin) == 2
        assert (await heads_of(w.asia))[origin][:2] == (2, 2)
        assert await total(w.asia, region="europe") == 2
        assert await total(w.asia, q="member 2") == 0

        await w.pull(w.asia, w.eu)
        assert seqs(w.asia, origin) == [1, 2, 3, 4, 5, 6]
        assert (await heads_of(w.asia))[origin] == (await heads_of(w.eu))[origin]
        assert await total(w.asia, region="europe") == 6
        for m in made:
            assert (await call(w.asia, "GET", f"/members/{m['id']}")).status_code == 200

    world_test(tmp_path, clock, body, node_urls)
