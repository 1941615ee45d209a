"""Federation under bad peers and faults.

A *malicious relay* is a small FastAPI app written here that speaks just enough of the
sync protocol (``/federation/heads`` and ``/federation/records``) to serve crafted
envelopes, some signed with the real origin's key. It takes the place of a node that the
hub really admitted, so its victims trust the roster entry that points at it. Also: HTTP
errors, oversized answers, unreachable peers and backoff with the injected clock; a crash
in the middle of a page; key rotation and revocation through the roster.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Response
from sqlalchemy import select
from sqlmodel import Session
from support.clock import Clock
from support.databases import BACKENDS, node_url_factory
from support.envelopes import sealed
from support.factories import member_body
from support.fedkit import Federation, FedNode, call, get_json, settle

from federation import keys
from federation.errors import PeerBadResponse
from federation.keys import SigningKey, public_key
from federation.signing import header_hash, verify_envelope
from node import operator
from node.app import create_app
from node.db import log, store
from node.db.engine import writer
from node.db.log import tip as tip_of
from node.db.tables import RECORDS, Peer, Quarantine
from node.errors import Conflict
from node.publisher import Draft, Mode, publish
from node.settings import NodeSettings
from node.sync.client import PeerClient
from schemas.geo import Region
from schemas.roster import NodeStatus, RosterNode

# --- helpers -------------------------------------------------------------------------------

PLACES: dict[Region, dict[str, Any]] = {
    Region.NORTH_AMERICA: dict(country="US", city="Rochester", latitude=44.02, longitude=-92.47),
    Region.EUROPE: dict(country="NL", city="Nijmegen", latitude=51.8426, longitude=5.8528),
    Region.ASIA: dict(country="JP", city="Tokyo", latitude=35.6762, longitude=139.6503),
    Region.AFRICA: dict(country="ZA", city="Cape Town", latitude=-33.92, longitude=18.42),
}


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


def body_in(region: Region, name: str) -> dict[str, Any]:
    return member_body(name=name, region=region.value, **PLACES[region])


async def create_member(node: FedNode, name: str) -> dict[str, Any]:
    body = body_in(node.settings.region, name)
    r = await call(node, "POST", "/admin/members", json=body, headers=node.editor)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def update_member(node: FedNode, mid: str, name: str) -> dict[str, Any]:
    body = body_in(node.settings.region, name)
    r = await call(node, "PUT", f"/admin/members/{mid}", json=body, headers=node.editor)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def total(node: FedNode, **filters: Any) -> int:
    return int((await get_json(node, "/members", count="true", **filters))["total"])


async def envelopes(node: FedNode, origin: str | None = None) -> list[dict[str, Any]]:
    page = await get_json(node, "/federation/records", origin=origin or node.node_id)
    records: list[dict[str, Any]] = page["records"]
    return records


async def heads_of(node: FedNode) -> dict[str, tuple[int, int, str, str | None]]:
    heads = await get_json(node, "/federation/heads")
    return {
        h["origin"]: (h["last_seq"], h["count"], h["digest"], h["head"]) for h in heads["origins"]
    }


def engine_of(node: FedNode) -> Any:
    return node.app.state.runtime.engine


def stored(node: FedNode, origin: str) -> list[tuple[int, int, bool, bool]]:
    """(seq, version, current, has body) of every record of ``origin`` the node holds."""
    with Session(engine_of(node)) as session:
        rows = session.execute(
            select(RECORDS.c.seq, RECORDS.c.version, RECORDS.c.current, RECORDS.c.body)
            .where(RECORDS.c.origin == origin)
            .order_by(RECORDS.c.seq)
        ).all()
    return [(r[0], r[1], bool(r[2]), r[3] is not None) for r in rows]


def seqs(node: FedNode, origin: str) -> list[int]:
    return [row[0] for row in stored(node, origin)]


def tip(node: FedNode, origin: str) -> int:
    with Session(engine_of(node)) as session:
        return tip_of(session, origin=origin).seq


def quarantined(node: FedNode) -> list[Quarantine]:
    with Session(engine_of(node)) as session:
        return list(session.execute(select(Quarantine).order_by(Quarantine.id)).scalars())


def peer_state(node: FedNode, peer: str) -> Peer | None:
    with Session(engine_of(node)) as session:
        return session.get(Peer, peer)


def entry(node: FedNode, peer: FedNode) -> RosterNode:
    """The roster entry ``node`` holds for ``peer`` (what its puller pulls from)."""
    trusted: RosterNode = node.sync.trust.current.nodes[peer.node_id]
    return trusted


class Relay:
    """A peer that serves whatever it is told to, behind a real node's roster entry.

    ``logs[origin]`` is served position by position: item ``i`` goes out as if it were
    seq ``i + 1``, whatever it really contains (a gap, a forgery, a malformed object).
    """

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self.logs: dict[str, list[Any]] = {}
        self.status = 200
        self.padding = 0
        self.ignore_after = False  # serve from the start, whatever cursor was asked for
        self.raw_page: str | None = None  # served verbatim by /federation/records
        self.app = FastAPI()
        self.app.get("/federation/heads")(self.heads)
        self.app.get("/federation/records")(self.records)

    def heads(self) -> Response:
        if self.status != 200:
            return Response("internal error", status_code=self.status)
        origins = [
            {
                "origin": o,
                "last_seq": len(items),
                "head": None,
                "count": len(items),
                "digest": "0" * 64,
            }
            for o, items in self.logs.items()
        ]
        payload = {"node": self.node_id, "roster_version": 1, "origins": origins}
        return Response(json.dumps(payload), media_type="application/json")

    def records(self, origin: str, after: int = 0, limit: int = 500) -> Response:
        if self.status != 200:
            return Response("internal error", status_code=self.status)
        if self.raw_page is not None:
            return Response(self.raw_page, media_type="application/json")
        items = self.logs.get(origin, [])
        start = 0 if self.ignore_after else after
        payload = {
            "origin": origin,
            "after": after,
            "last_seq": len(items),
            "records": items[start : start + limit],
            "padding": "x" * self.padding,
        }
        return Response(json.dumps(payload), media_type="application/json")


class World:
    """hub + europe + asia + a relay (admitted as an African node, then replaced)."""

    def __init__(self, fed: Federation) -> None:
        self.fed = fed
        self.hub = fed.add("hub", Region.NORTH_AMERICA, hub=True, name="Mayo Clinic")
        self.eu = fed.add("europe", Region.EUROPE, name="Radboud UMC")
        self.asia = fed.add("asia", Region.ASIA, name="Asia leader")
        self.relay_node = fed.add("relay", Region.AFRICA, name="Africa leader")
        for n in fed.nodes.values():
            n.settings.nudge = False  # the tests decide who pulls when
        self.relay = Relay(self.relay_node.node_id)

    async def start(self) -> None:
        await self.fed.converge(rounds=1)  # the roster everywhere
        version = self.hub.sync.trust.current.version
        assert all(n.sync.trust.current.version == version for n in self.fed.nodes.values())
        self.fed.net.apps[self.relay_node.host] = httpx.ASGITransport(app=self.relay.app)

    @property
    def eu_key(self) -> SigningKey:
        key: SigningKey = self.eu.app.state.runtime.key
        return key

    async def pull_relay(self, victim: FedNode) -> Any:
        return await victim.sync.puller.pull(entry(victim, self.relay_node), force=True)

    async def pull(self, victim: FedNode, peer: FedNode) -> Any:
        return await victim.sync.puller.pull(entry(victim, peer), force=True)


def world_test(
    tmp_path: Path,
    clock: Clock,
    body: Callable[[World], Coroutine[Any, Any, None]],
    urls: Callable[[str], str] | None = None,
) -> None:
    async def scenario() -> None:
        fed = Federation(tmp_path, clock, urls or (lambda h: f"sqlite:///{tmp_path}/{h}.db"))
        try:
            world = World(fed)
            await world.start()
            await body(world)
        finally:
            await settle()
            await fed.close()

    run(scenario())


def restart(w: World, name: str, clock: Clock) -> FedNode:
    """Rebuild a node's app from its (updated) home, as a restart after an operator command."""
    old = w.fed.nodes[name]
    settings = NodeSettings.load(old.settings.home)
    settings.nudge = False
    engine_of(old).dispose()
    app = create_app(settings, clock=clock, http=w.fed.http, schedule=False)
    new = FedNode(old.host, settings, app, old.editor)
    w.fed.nodes[name] = new
    w.fed.net.add(new.host, app)
    if name == "hub":
        w.hub = new
    elif name == "europe":
        w.eu = new
    return new


# --- bad records from a relay --------------------------------------------------------------

OTHER_KEY = keys.generate("ed25519:1")


def _forged(w: World, good: list[dict[str, Any]]) -> list[Any]:
    # claims europe's origin and key id, signed by some other key
    prev = header_hash(good[1]["record"])
    return [sealed(OTHER_KEY, w.eu.node_id, 3, prev, body_in(Region.EUROPE, "Forged"))]


def _tampered(w: World, good: list[dict[str, Any]]) -> list[Any]:
    return [{**good[2], "body": {**good[2]["body"], "name": "Tampered name"}}]


def _out_of_scope(w: World, good: list[dict[str, Any]]) -> list[Any]:
    # europe's own key, but an Asian member
    prev = header_hash(good[1]["record"])
    return [sealed(w.eu_key, w.eu.node_id, 3, prev, body_in(Region.ASIA, "Not Europe's"))]


def _missing_sig(w: World, good: list[dict[str, Any]]) -> list[Any]:
    return [{"record": good[2]["record"], "body": good[2]["body"]}]


def _seq_as_string(w: World, good: list[dict[str, Any]]) -> list[Any]:
    return [{**good[2], "record": {**good[2]["record"], "seq": "3"}}]


def _header_field_missing(w: World, good: list[dict[str, Any]]) -> list[Any]:
    header = {k: v for k, v in good[2]["record"].items() if k != "prev"}
    return [{**good[2], "record": header}]


def _record_not_an_object(w: World, good: list[dict[str, Any]]) -> list[Any]:
    return [{**good[2], "record": ["not", "a", "header"]}]


def _gap(w: World, good: list[dict[str, Any]]) -> list[Any]:
    return []  # seq 3 left out: the page jumps from 2 to 4


BAD_THIRD = {
    "forged origin": (_forged, "BadSignature"),
    "tampered body": (_tampered, "BodyMismatch"),
    "out of scope": (_out_of_scope, "OutOfScope"),
    "missing sig": (_missing_sig, "malformed"),
    "seq as string": (_seq_as_string, "malformed"),
    "header field missing": (_header_field_missing, "malformed"),
    "record not an object": (_record_not_an_object, "malformed"),
    "gap": (_gap, "gap"),
}


@pytest.mark.parametrize("case", list(BAD_THIRD))
def test_a_bad_record_stops_the_page_and_is_quarantined(
    tmp_path: Path, clock: Clock, case: str
) -> None:
    make, reason = BAD_THIRD[case]

    async def body(w: World) -> None:
        made = [await create_member(w.eu, f"Europe member {i}") for i in range(4)]
        good = await envelopes(w.eu)
        assert [e["record"]["seq"] for e in good] == [1, 2, 3, 4]
        bad = make(w, good)
        w.relay.logs[w.eu.node_id] = [good[0], good[1], *bad, good[3]]

        result = await w.pull_relay(w.asia)
        assert result.ok is True and result.applied == 2 and result.rejected == 1
        bad_seq = 4 if reason == "gap" else 3
        expected_stop = f"{reason} at seq {'?' if case == 'record not an object' else bad_seq}"
        assert result.stopped == [f"{w.eu.node_id}: {expected_stop}"]
        # good records before it kept, the bad one and everything after it not stored
        assert stored(w.asia, w.eu.node_id) == [(1, 1, True, True), (2, 1, True, True)]
        assert tip(w.asia, w.eu.node_id) == 2
        assert await total(w.asia, region="europe") == 2
        (q,) = quarantined(w.asia)
        assert (q.reason, q.peer) == (reason, w.relay_node.node_id)
        if case != "record not an object":
            # a seq that is not an integer is not copied into the quarantine's seq column
            expected_seq = None if case == "seq as string" else bad_seq
            assert (q.origin, q.seq) == (w.eu.node_id, expected_seq)
        refused = good[3] if case == "gap" else bad[0]
        assert json.loads(q.envelope) == refused
        assert q.evidence is None
        status = await get_json(w.asia, "/federation/status")
        assert status["quarantine"] == {"total": 1, "by_reason": {reason: 1}}
        assert status["alarms"] == []
        metrics = (await call(w.asia, "GET", "/metrics")).text
        assert f'healthnet_records_rejected_total{{reason="{reason}"}} 1.0' in metrics

        # the next pull resumes from the committed tip, from an honest peer
        await w.pull(w.asia, w.eu)
        assert seqs(w.asia, w.eu.node_id) == [1, 2, 3, 4]
        assert (await heads_of(w.asia))[w.eu.node_id] == (await heads_of(w.eu))[w.eu.node_id]
        for m in made:
            assert (await call(w.asia, "GET", f"/members/{m['id']}")).status_code == 200

    world_test(tmp_path, clock, body)


def test_equivocation_is_quarantined_with_evidence_and_alarms(tmp_path: Path, clock: Clock) -> None:
    async def body(w: World) -> None:
        for i in range(3):
            await create_member(w.eu, f"Europe member {i}")
        good = await envelopes(w.eu)
        await w.pull(w.asia, w.eu)  # the honest node delivers seq 1..3 first
        assert tip(w.asia, w.eu.node_id) == 3

        # europe (its real key) also signed a different seq 3, which the relay delivers
        other = sealed(
            w.eu_key,
            w.eu.node_id,
            3,
            header_hash(good[1]["record"]),
            body_in(Region.EUROPE, "The other seq 3"),
        )
        w.relay.logs[w.eu.node_id] = [good[0], good[1], other, good[2]]
        w.relay.ignore_after = True  # it serves from seq 1, whatever the cursor says
        result = await w.pull_relay(w.asia)
        assert result.applied == 0 and result.rejected == 1
        assert result.stopped == [f"{w.eu.node_id}: equivocation at seq 3"]

        (q,) = quarantined(w.asia)
        assert (q.reason, q.origin, q.seq, q.peer) == (
            "equivocation",
            w.eu.node_id,
            3,
            w.relay_node.node_id,
        )
        assert json.loads(q.envelope)["record"] == other["record"]
        evidence = json.loads(q.evidence or "null")
        assert evidence == {"record": good[2]["record"], "sig": good[2]["sig"]}
        # both headers verify under europe's key: proof that europe signed two seq 3s
        eu_public = public_key(w.eu_key.public_b64)
        verify_envelope({**evidence, "body": None}, eu_public)
        verify_envelope(other, eu_public)
        assert header_hash(evidence["record"]) != header_hash(other["record"])

        assert stored(w.asia, w.eu.node_id) == [
            (1, 1, True, True),
            (2, 1, True, True),
            (3, 1, True, True),
        ]
        assert await total(w.asia, q="other") == 0
        status = await get_json(w.asia, "/federation/status")
        assert [(a["origin"], a["seq"], a["peer"]) for a in status["alarms"]] == [
            (w.eu.node_id, 3, w.relay_node.node_id)
        ]
        assert status["quarantine"]["by_reason"] == {"equivocation": 1}

    world_test(tmp_path, clock, body)


def test_equivocation_by_a_broken_prev_link_keeps_the_held_header_as_evidence(
    tmp_path: Path, clock: Clock
) -> None:
    async def body(w: World) -> None:
        for i in range(2):
            await create_member(w.eu, f"Europe member {i}")
        good = await envelopes(w.eu)
        await w.pull(w.asia, w.eu)
        # europe signs a seq 3 whose prev is not the seq 2 asia holds: a second history
        fork2 = sealed(
            w.eu_key,
            w.eu.node_id,
            2,
            header_hash(good[0]["record"]),
            body_in(Region.EUROPE, "Fork 2"),
        )
        fork3 = sealed(
            w.eu_key,
            w.eu.node_id,
            3,
            header_hash(fork2["record"]),
            body_in(Region.EUROPE, "Fork 3"),
        )
        w.relay.logs[w.eu.node_id] = [good[0], fork2, fork3]
        result = await w.pull_relay(w.asia)
        assert result.stopped == [f"{w.eu.node_id}: equivocation at seq 3"]
        (q,) = quarantined(w.asia)
        assert (q.reason, q.seq) == ("equivocation", 3)
        evidence = json.loads(q.evidence or "null")
        assert evidence == {"record": good[1]["record"], "sig": good[1]["sig"]}

    world_test(tmp_path, clock, body)


def test_a_replayed_old_version_at_a_new_seq_is_history_not_a_crash(
    tmp_path: Path, clock: Clock
) -> None:
    async def body(w: World) -> None:
        m = await create_member(w.eu, "Radboudumc")
        await update_member(w.eu, m["id"], "Radboudumc v2")
        good = await envelopes(w.eu)
        await w.pull(w.asia, w.eu)
        assert good[0]["body"] is None and good[0]["record"]["version"] == 1  # a stub now
        # europe's real key re-signs version 1 at seq 3
        replay = sealed(
            w.eu_key,
            w.eu.node_id,
            3,
            header_hash(good[1]["record"]),
            body_in(Region.EUROPE, "Radboudumc"),
            record_id=m["id"],
            version=1,
        )
        w.relay.logs[w.eu.node_id] = [good[0], good[1], replay]
        result = await w.pull_relay(w.asia)  # BUG: raises IntegrityError
        assert result.ok is True
        r = await call(w.asia, "GET", f"/members/{m['id']}")
        assert (r.headers["etag"], r.json()["name"]) == ('"2"', "Radboudumc v2")
        current = await get_json(w.asia, f"/records/{m['id']}")
        assert current["record"]["version"] == 2
        held = stored(w.asia, w.eu.node_id)
        reasons = [q.reason for q in quarantined(w.asia)]
        assert held[:2] == [(1, 1, False, False), (2, 2, True, True)]
        assert held[2:] == [(3, 1, False, False)] or reasons == ["equivocation"]

    world_test(tmp_path, clock, body)


# --- withheld bodies -----------------------------------------------------------------------


def test_a_current_version_served_as_a_stub_is_only_history(tmp_path: Path, clock: Clock) -> None:
    async def body(w: World) -> None:
        a = await create_member(w.eu, "Alpha")
        b = await create_member(w.eu, "Beta")
        good = await envelopes(w.eu)
        withheld = {**good[1], "body": None}  # the current version of Beta, body stripped
        w.relay.logs[w.eu.node_id] = [good[0], withheld]
        result = await w.pull_relay(w.asia)
        assert result.rejected == 0 and result.stopped == []
        assert stored(w.asia, w.eu.node_id) == [(1, 1, True, True), (2, 1, False, False)]
        assert (await call(w.asia, "GET", f"/members/{a['id']}")).status_code == 200
        assert (await call(w.asia, "GET", f"/members/{b['id']}")).status_code == 404
        assert await total(w.asia) == 1
        assert await total(w.asia, q="beta") == 0
        assert (await call(w.asia, "GET", f"/records/{b['id']}")).status_code == 404

        # a later full version supersedes the stub and shows up
        await update_member(w.eu, b["id"], "Beta v2")
        await w.pull(w.asia, w.eu)
        r = await call(w.asia, "GET", f"/members/{b['id']}")
        assert (r.status_code, r.json()["name"]) == (200, "Beta v2")
        assert stored(w.asia, w.eu.node_id)[1:] == [(2, 1, False, False), (3, 2, True, True)]

    world_test(tmp_path, clock, body)


def test_a_withheld_body_is_recovered_from_an_honest_peer(tmp_path: Path, clock: Clock) -> None:
    async def body(w: World) -> None:
        await create_member(w.eu, "Alpha")
        b = await create_member(w.eu, "Beta")
        good = await envelopes(w.eu)
        w.relay.logs[w.eu.node_id] = [good[0], {**good[1], "body": None}]
        await w.pull_relay(w.asia)
        await w.fed.converge()  # every honest peer holds Beta's body
        assert (await call(w.hub, "GET", f"/members/{b['id']}")).status_code == 200
        assert (await call(w.asia, "GET", f"/members/{b['id']}")).status_code == 200

    world_test(tmp_path, clock, body)


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
        # the hub refuses it when europe relays it
        result = await w.pull(hub, eu)
        assert result.stopped == [f"{origin}: OutOfScope at seq 2"]
        (q,) = quarantined(hub)
        assert (q.reason, q.origin, q.seq, q.peer) == ("OutOfScope", origin, 2, eu.node_id)
        assert "node is revoked" in q.detail
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
        assert result.stopped == [f"{origin}: OutOfScope at seq 3"]
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
