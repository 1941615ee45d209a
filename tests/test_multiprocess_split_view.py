"""A split view caught across real node processes (issue 14).

The hub, Europe and Asia are real ``healthnet serve`` processes syncing every second.
Africa is admitted the real way, then its process is replaced on its port by a two-faced
origin (tests/support/two_faced.py) that signs with Africa's real key and shows each peer
its own history: the hub and Asia get record A at seq 1, Europe gets record B at seq 1.
Each chain verifies on its own; nothing but comparing notes can catch it.

What must hold, within a few pull intervals: every honest node raises the alarm with a
proof it checked itself (two headers Africa signed for seq 1), serves the proof, and shows
the alarm in /federation/status, /n, /network (the world view's data), /metrics and
``healthnet peers``; the proof checks offline under the roster's key for Africa; and
nobody replaces the version it held first. Then the hub suspends Africa and no honest node
accepts a new Africa record, from Africa or relayed.

Every wait is a bounded poll; every process is stopped by its PID, whatever happens.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.app_process import AppProcess
from support.envelopes import sealed
from support.proc_federation import Federation, Node, build, member
from support.procs import Processes, cli, poll_until

from federation.evidence import check_proof
from federation.keys import public_key
from federation.signing import header_hash
from node.home import load_key
from node.settings import NodeSettings

pytestmark = pytest.mark.slow

CAUGHT_S = 30.0  # a few 1 s pull intervals, with a loaded machine's slack
HONEST = ("hub", "europe", "asia")


class TwoFaced:
    def __init__(self, root: Path, port: int, node_info: dict[str, Any], roster: int) -> None:
        self.data = root / "two-faced.json"
        self.node_info, self.roster = node_info, roster
        self.log = root / "two-faced.jsonl"
        self.app = AppProcess(
            "support.two_faced:app", port, root / "two-faced.log",
            {"TWO_FACED_DATA": str(self.data), "TWO_FACED_LOG": str(self.log)},
        )  # fmt: skip

    def requests(self) -> int:
        """How many heads and records requests the app has answered so far."""
        try:
            return len(self.log.read_text(encoding="utf-8").splitlines())
        except FileNotFoundError:
            return 0

    def show(self, views: dict[str, list[dict[str, Any]]]) -> None:
        payload = {"node": self.node_info, "roster_version": self.roster, "views": views}
        tmp = self.data.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(tmp, self.data)  # atomic: the app never reads half a file


def alarms(node: Node, origin: str) -> list[dict[str, Any]]:
    status: dict[str, Any] = node.get("/federation/status")
    return [a for a in status["alarms"] if a["origin"] == origin]


def proven(node: Node, origin: str) -> bool:
    return any(a["proof"] for a in alarms(node, origin))


def test_a_two_faced_origin_is_caught_by_every_honest_node(tmp_path: Path) -> None:
    with Processes(tmp_path) as procs:
        fed = build(procs, tmp_path, ["hub", "europe", "asia", "africa"])
        faces: list[TwoFaced] = []
        try:
            catch(fed, tmp_path, faces)
        finally:
            for face in faces:
                face.app.stop()


def catch(fed: Federation, root: Path, faces: list[TwoFaced]) -> None:
    hub, europe, asia, africa = (fed[n] for n in ("hub", "europe", "asia", "africa"))
    africa_id = africa.node_id
    africa_key = load_key(NodeSettings.load(africa.home))
    node_info = africa.get("/node")
    fed.stop("africa")
    face = TwoFaced(root, africa.proc.port, node_info, hub.roster_version())
    faces.append(face)

    a = sealed(africa_key, africa_id, 1, None, hospital("Kenyatta Alpha Hospital"))
    b = sealed(africa_key, africa_id, 1, None, hospital("Kenyatta Beta Hospital"))
    face.show({europe.node_id: [b], "*": [a]})
    face.app.start()

    def logs() -> str:
        return fed.logs() + f"\n--- two-faced\n{face.app.output()}"

    # Each honest node holds one of the two (which one depends on whom it pulled first:
    # the two-faced origin itself, or a peer relaying what it was shown).
    versions = {header_hash(a["record"]), header_hash(b["record"])}
    first: dict[str, str] = {}
    for name in HONEST:
        node = fed[name]
        poll_until(
            lambda: africa_id in node.heads() or None,  # noqa: B023 - called at once
            timeout=CAUGHT_S, what=f"{name} holding Africa's seq 1", detail=logs,
        )  # fmt: skip
        first[name] = held_hash(fed[name], africa_id)
        assert first[name] in versions, name

    # Caught everywhere, with a proof each node checked itself.
    poll_until(
        lambda: all(proven(fed[n], africa_id) for n in HONEST) or None,
        timeout=CAUGHT_S, what="the alarm with a proof on every honest node", detail=logs,
    )  # fmt: skip
    roster_key = public_key(africa_key.public_b64)
    for name in HONEST:
        node = fed[name]
        [alarm] = alarms(node, africa_id)
        assert alarm["seq"] == 1 and alarm["proof"] is True, alarm
        [proof] = node.get("/federation/evidence")["evidence"]
        finding = check_proof(proof, lambda o, k, s: roster_key if o == africa_id else None)
        assert {finding.hashes[0], finding.hashes[1]} == {
            header_hash(a["record"]), header_hash(b["record"])
        }
        # Shown everywhere an operator looks.
        page = text(node, "/n")
        assert "Equivocation by" in page and africa_id in page
        world = {n["node_id"]: n for n in node.get("/network")["nodes"]}
        assert world[africa_id]["alarms"] == 1
        metric = f'healthnet_equivocation_alarms{{origin="{africa_id}"}} 1.0'
        assert metric in text(node, "/metrics")
        peers_out = cli("peers", node.home).stdout
        assert "alarms: 1" in peers_out and africa_id in peers_out

    # Nobody switched to the other version: each keeps the one it verified first.
    assert {n: held_hash(fed[n], africa_id) for n in HONEST} == first

    # The hub suspends Africa: every honest node shows it, refuses its nudges, and takes no
    # new record of it (the two-faced origin now offers a seq 2 to everyone).
    out = cli("roster", "suspend", hub.home, africa_id).stdout
    assert "suspended" in out, out
    fed.roster_version += 1
    fed.wait_roster(names=list(HONEST))
    a2 = sealed(africa_key, africa_id, 2, header_hash(a["record"]), hospital("Kenyatta Gamma"))
    face.show({europe.node_id: [b], "*": [a, a2]})
    for name in HONEST:
        node = fed[name]
        origins = {o["origin"]: o for o in node.get("/federation/status")["origins"]}
        assert origins[africa_id]["standing"] == "suspended", (name, origins[africa_id])
        nudged = httpx.post(f"{node.url}/federation/nudge", timeout=5,
                            json={"node": africa_id, "origin": africa_id, "seq": 2})  # fmt: skip
        assert nudged.status_code == 202 and nudged.json() == {"accepted": False}
    asked = face.requests()
    time.sleep(3)  # three pull intervals in which a pull of Africa would take seq 2
    for name in HONEST:
        assert fed[name].heads()[africa_id][0] == 1, name
        assert fed[name].get("/members", q="Gamma", count="true")["total"] == 0
    assert face.requests() == asked  # nobody pulls a suspended origin itself


def held_hash(node: Node, origin: str) -> str:
    """The header hash of the record ``node`` holds at seq 1 of ``origin``."""
    records = node.get("/federation/records", origin=origin, limit=1)["records"]
    return header_hash(records[0]["record"])


def hospital(name: str) -> dict[str, Any]:
    return member(name, "africa", "KE", "Nairobi", -1.30, 36.80)


def text(node: Node, path: str) -> str:
    response = httpx.get(node.url + path, timeout=10)
    response.raise_for_status()
    return response.text
