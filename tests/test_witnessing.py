"""Split views caught in process (docs/PROTOCOL.md 10.8): the checkpoints every node
serves and collects, a two-faced origin proven by comparing heads and checkpoints, proofs
spreading to a node that was never shown the other version, and doctored statements and
proofs dropped one by one. Several apps in one process over httpx's ASGI transport; the
two-faced origin is tests/support/two_faced.py, here fed one view at a time."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from support import two_faced
from support.cli import hn
from support.clock import Clock
from support.envelopes import sealed
from support.factories import member_body
from support.federation_world import run, sqlite_urls
from support.fedkit import Federation, FedNode, call, get_json

from federation.evidence import check_proof
from federation.signing import header_hash
from federation.trust import listed_key
from federation.witness import check_cosignature, witness_keys
from schemas.geo import Region


def africa_member(name: str) -> dict[str, Any]:
    return member_body(name=name, region="africa", country="KE", city="Nairobi")


class Face:
    """The two-faced Africa: an admitted node whose app is replaced by two_faced.app."""

    def __init__(self, fed: Federation, node: FedNode, data: Path) -> None:
        self.node, self.data = node, data
        self.info = {"node_id": node.node_id}
        self.key = node.app.state.runtime.key
        fed.net.add(node.host, two_faced.app)

    def show(self, chain: list[dict[str, Any]]) -> None:
        payload = {"node": self.info, "roster_version": 9, "views": {"*": chain}}
        self.data.write_text(json.dumps(payload), encoding="utf-8")

    def record(self, seq: int, name: str, prev: str | None = None) -> dict[str, Any]:
        return sealed(self.key, self.node.node_id, seq, prev, africa_member(name))


@pytest.fixture(autouse=True)
def every_pull_collects(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checkpoints at every pull here (a node collects them every 5 minutes by default)."""
    monkeypatch.setenv("HEALTHNET_CHECKPOINT_INTERVAL_SECONDS", "0")


@pytest.fixture
def faced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "two-faced.json"
    monkeypatch.setenv(two_faced.DATA_ENV, str(data))
    return data


NAMES = {
    "hub": (Region.NORTH_AMERICA, "Mayo Clinic"),
    "europe": (Region.EUROPE, "Radboud UMC"),
    "asia": (Region.ASIA, "St. Luke's"),
    "africa": (Region.AFRICA, "Kenyatta"),
}


def federation(tmp_path: Path, clock: Clock, *names: str) -> Federation:
    fed = Federation(tmp_path, clock, sqlite_urls(tmp_path))
    for name in ("hub", *names):
        region, operator = NAMES[name]
        fed.add(name, region, hub=name == "hub", name=operator)
    return fed


async def split(
    fed: Federation, face: Face, *, shown_a: FedNode, shown_b: FedNode
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Africa shows ``shown_a`` record A and ``shown_b`` record B, both at seq 1."""
    a, b = face.record(1, "Kenyatta Alpha"), face.record(1, "Kenyatta Beta")
    face.show([a])
    await shown_a.sync.puller.pull(peer(shown_a, face.node), force=True)
    face.show([b])
    await shown_b.sync.puller.pull(peer(shown_b, face.node), force=True)
    return a, b


def peer(node: FedNode, other: FedNode) -> Any:
    trust = node.sync.trust.current
    assert trust is not None
    return trust.nodes[other.node_id]


def test_every_node_serves_and_collects_checkpoints(tmp_path: Path, clock: Clock) -> None:
    async def scenario() -> None:
        fed = Federation(tmp_path, clock, sqlite_urls(tmp_path))
        hub = fed.add("hub", Region.NORTH_AMERICA, hub=True, name="Mayo Clinic")
        europe = fed.add("europe", Region.EUROPE, name="Radboud UMC")
        asia = fed.add("asia", Region.ASIA, name="St. Luke's")
        try:
            await fed.post(europe, "/admin/members", member_body(region="europe", country="NL"))
            await fed.converge()
            trust = hub.sync.trust.current
            assert trust is not None
            served = await get_json(hub, "/federation/checkpoints")
            assert served["node"] == hub.node_id
            mine = [check_cosignature(s, witness_keys(trust)) for s in served["cosignatures"]]
            by = {(c.witness, c.checkpoint.origin): c.checkpoint for c in mine}
            heads = (await get_json(europe, "/federation/heads"))["origins"]
            own = next(o for o in heads if o["origin"] == europe.node_id)
            cp = by[(hub.node_id, europe.node_id)]
            assert (cp.size, cp.head) == (own["last_seq"], own["head"])
            # Collected from peers at each pull: Europe's and Asia's word on the hub's log.
            assert (europe.node_id, hub.node_id) in by and (asia.node_id, hub.node_id) in by
            # Nobody serves a statement about its own log.
            assert all(c.witness != c.checkpoint.origin for c in mine)
        finally:
            await fed.close()

    run(scenario())


def test_a_two_faced_origin_is_proven_and_the_proof_spreads(
    tmp_path: Path, clock: Clock, faced: Path
) -> None:
    async def scenario() -> None:
        fed = federation(tmp_path, clock, "europe", "asia", "africa")
        hub, europe, asia, africa = (fed.nodes[n] for n in ("hub", "europe", "asia", "africa"))
        try:
            await fed.converge()  # everyone follows the roster that lists Africa
            face = Face(fed, africa, faced)
            a, b = await split(fed, face, shown_a=hub, shown_b=europe)
            # Each holds one version; neither alone can tell.
            assert (await get_json(hub, "/federation/status"))["alarms"] == []

            await hub.sync.puller.pull(peer(hub, europe), force=True)  # the hub compares
            status = await get_json(hub, "/federation/status")
            [alarm] = status["alarms"]
            assert (alarm["origin"], alarm["seq"], alarm["proof"]) == (africa.node_id, 1, True)
            assert alarm["peer"] == europe.node_id
            [proof] = (await get_json(hub, "/federation/evidence"))["evidence"]
            trust = hub.sync.trust.current
            assert trust is not None
            finding = check_proof(proof, lambda o, k, s: listed_key(trust, o, k, s))
            assert set(finding.hashes) == {header_hash(a["record"]), header_hash(b["record"])}
            # The operator's view: the proof in words, checked again, and what to do.
            out = hn("evidence", hub.settings.home).stdout
            assert "1 equivocation proof held" in out
            assert f"{africa.node_id} (Kenyatta, active) seq 1: two signed headers" in out
            assert "checked: both headers are signed by the origin's listed key" in out
            assert f"healthnet roster suspend HOME {africa.node_id}" in out
            raw = hn("evidence", hub.settings.home, "--json").stdout.splitlines()
            assert [json.loads(line) for line in raw] == [proof]

            # Asia was never shown either version by Africa (its pulls of Africa fail: the
            # face answers nothing new); it learns the proof from the hub and checks it.
            face.show([])
            await asia.sync.puller.pull(peer(asia, hub), force=True)
            [alarm] = (await get_json(asia, "/federation/status"))["alarms"]
            assert alarm["origin"] == africa.node_id and alarm["peer"] == hub.node_id
            # Europe proves it itself from the hub's heads, and holds the same proof once.
            await europe.sync.puller.pull(peer(europe, hub), force=True)
            assert (await get_json(europe, "/federation/evidence"))["evidence"] == [proof]
            # Nobody switched versions.
            held = await get_json(hub, "/federation/records", origin=africa.node_id)
            assert held["records"][0]["record"] == a["record"]
            held = await get_json(europe, "/federation/records", origin=africa.node_id)
            assert held["records"][0]["record"] == b["record"]
        finally:
            await fed.close()

    run(scenario())


def test_a_conflicting_checkpoint_is_proven_too(tmp_path: Path, clock: Clock, faced: Path) -> None:
    """The hub holds A; Europe holds B and then more, so its heads agree on nothing the
    hub can compare at the hub's size: the cosignature Europe serves of Africa at size 1
    is what conflicts."""

    async def scenario() -> None:
        fed = federation(tmp_path, clock, "europe", "africa")
        hub, europe, africa = (fed.nodes[n] for n in ("hub", "europe", "africa"))
        try:
            await fed.converge()  # everyone follows the roster that lists Africa
            face = Face(fed, africa, faced)
            await split(fed, face, shown_a=hub, shown_b=europe)
            statements = (await get_json(europe, "/federation/checkpoints"))["cosignatures"]
            assert any(s["checkpoint"]["origin"] == africa.node_id for s in statements)
            await hub.sync.puller.pull(peer(hub, europe), force=True)
            [alarm] = (await get_json(hub, "/federation/status"))["alarms"]
            assert alarm["proof"] is True and alarm["origin"] == africa.node_id
            text = (await call(hub, "GET", "/metrics")).text
            assert f'healthnet_equivocation_alarms{{origin="{africa.node_id}"}} 1.0' in text
        finally:
            await fed.close()

    run(scenario())


def test_doctored_statements_and_proofs_are_dropped_one_by_one(
    tmp_path: Path, clock: Clock, faced: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        fed = Federation(tmp_path, clock, sqlite_urls(tmp_path))
        hub = fed.add("hub", Region.NORTH_AMERICA, hub=True, name="Mayo Clinic")
        europe = fed.add("europe", Region.EUROPE, name="Radboud UMC")
        africa = fed.add("africa", Region.AFRICA, name="Kenyatta")
        try:
            await fed.converge()  # everyone follows the roster that lists Africa
            face = Face(fed, africa, faced)
            await fed.post(europe, "/admin/members", member_body(region="europe", country="NL"))
            a = face.record(1, "Kenyatta Alpha")
            face.show([a])
            await fed.converge()
            good = (await get_json(europe, "/federation/checkpoints"))["cosignatures"]
            forged_proof = {
                "type": "healthnet.equivocation.v1", "shape": "fork",
                "origin": africa.node_id, "seq": 1,
                "a": {"record": a["record"], "sig": a["sig"]},
                "b": {"record": a["record"], "sig": a["sig"]},
            }  # fmt: skip
            bad_statement = {**good[0], "sig": good[0]["sig"][::-1]}
            doctored = {
                "checkpoints": {"node": africa.node_id, "cosignatures": [bad_statement, *good]},
                "evidence": {"node": africa.node_id, "evidence": [forged_proof, "junk"]},
            }
            two_faced.OVERRIDES.update(doctored)
            try:
                with caplog.at_level(logging.INFO, logger="node.sync.witnessing"):
                    await hub.sync.puller.pull(peer(hub, africa), force=True)
            finally:
                two_faced.OVERRIDES.clear()
            said = caplog.text
            assert "cosignature refused: cosignature.sig" in said  # asked for, and dropped
            assert "evidence refused" in said
            status = await get_json(hub, "/federation/status")
            assert status["alarms"] == []  # nothing proven by a forgery
            assert (await get_json(hub, "/federation/evidence"))["evidence"] == []
            row = next(p for p in status["peers"] if p["node_id"] == africa.node_id)
            assert row["healthy"] is True  # a bad entry is dropped, not the pull
        finally:
            await fed.close()

    run(scenario())
