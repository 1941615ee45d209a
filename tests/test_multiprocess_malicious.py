"""A malicious peer among real node processes.

The hub and Europe are real ``healthnet serve`` processes (SQLite homes, syncing every
second). Asia is admitted to the hub's roster the real way: its home is made with what
``healthnet init`` calls, it is started and ``healthnet roster add`` reads its ``/node``.
Then the real Asia is stopped and a malicious peer, ``tests/support/evil_peer.py`` (FastAPI
under uvicorn, its own process), takes its port. The hub and Europe keep trusting the roster
entry and pull from it every second; it serves, stage by stage, crafted envelopes read from
a JSON file the test rewrites:

* an honest Asia record at seq 1, signed with Asia's real key (read from its home);
* a **forged** Europe record (Europe's origin and key id, signed with Asia's key):
  ``BadSignature``; and an **out-of-scope** one: Asia's own key signing an Asia-origin
  member whose region is Europe: ``OutOfScope``;
* a **tampered** Europe record (Europe's real envelope, body changed after signing):
  ``BodyMismatch``; and an **equivocating** Asia record: a different seq 1, signed by Asia,
  after the hub already holds the honest one: ``equivocation``, with an alarm;
* a **replayed old version** of a Europe member (see :func:`stolen_replay`).

A second test (expected to fail: a bug) has the evil peer answer ``/federation/heads`` one
byte a second, and checks that the hub still gets Europe's writes from its periodic pull.

Every wait is a bounded poll; every process (the nodes and the evil peer) is stopped by PID
when the test ends, whatever happens.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.app_process import AppProcess
from support.envelopes import sealed
from support.proc_federation import Federation, Node, build, member
from support.procs import HOST, Processes, poll_until

from federation.signing import header_hash
from node.home import load_key
from node.settings import NodeSettings

pytestmark = pytest.mark.slow

STAGE_S = 20.0  # every wait for the hub to react to a stage: poll at most this long

# Words that name crafted members: none of them may ever be listed by the hub (or Europe).
FORGED, TAMPERED, OUT_OF_SCOPE, EQUIVOCATED, OLD_NAME = (
    "Forgedname",
    "Tamperedname",
    "Outofscopename",
    "Equivocatedname",
    "Oldname",
)
NEVER_SHOWN = (FORGED, TAMPERED, OUT_OF_SCOPE, EQUIVOCATED, OLD_NAME)


# --- the evil peer process ---------------------------------------------------------------


class EvilPeer:
    """``uvicorn support.evil_peer:app`` (app dir ``tests``) on a given port, fed by a JSON
    file it re-reads per request."""

    def __init__(self, root: Path, port: int, node_info: dict[str, Any], roster: int) -> None:
        self.port = port
        self.data = root / "evil-data.json"
        self.requests = root / "evil-requests.jsonl"
        self.log = root / "evil.log"
        self.node_info = node_info
        self.roster_version = roster
        self.proc: AppProcess | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def stage(
        self,
        name: str,
        origins: dict[str, tuple[int, list[dict[str, Any]]]],
        *,
        drip_seconds: int = 0,
    ) -> None:
        """Serve ``origins`` (origin -> (claimed last_seq, records served)) from now on;
        with ``drip_seconds``, answer ``/federation/heads`` a byte a second for that long."""
        payload = {
            "stage": name,
            "drip_seconds": drip_seconds,
            "node": self.node_info,
            "roster_version": self.roster_version,
            "origins": {
                o: {"last_seq": last, "records": recs} for o, (last, recs) in origins.items()
            },
        }
        tmp = self.data.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(tmp, self.data)  # atomic: the peer never reads half a file

    def start(self) -> None:
        self.proc = AppProcess(
            "support.evil_peer:app", self.port, self.log,
            {"EVIL_PEER_DATA": str(self.data), "EVIL_PEER_LOG": str(self.requests)},
        )  # fmt: skip
        self.proc.start()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def requested(self) -> list[dict[str, Any]]:
        try:
            lines = self.requests.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines if line.strip()]

    def served(self, stage: str, origin: str) -> int:
        """How many records requests for ``origin`` were answered in ``stage``."""
        return sum(
            1
            for e in self.requested()
            if e["path"] == "records" and e["stage"] == stage and e["origin"] == origin
        )

    def heads_asked(self, stage: str) -> int:
        return sum(1 for e in self.requested() if e["path"] == "heads" and e["stage"] == stage)

    def output(self) -> str:
        return self.proc.output() if self.proc is not None else "(not started)"


# --- helpers -----------------------------------------------------------------------------


def status(node: Node) -> dict[str, Any]:
    result: dict[str, Any] = node.get("/federation/status")
    return result


def reasons(node: Node) -> dict[str, int]:
    by_reason: dict[str, int] = status(node)["quarantine"]["by_reason"]
    return by_reason


def listed(node: Node, word: str) -> int:
    return int(node.get("/members", q=word, count="true", limit=1)["total"])


def assert_never_shown(*nodes: Node) -> None:
    for node in nodes:
        for word in NEVER_SHOWN:
            assert listed(node, word) == 0, f"{node.name} lists a crafted member: {word}"


def peer_view(node: Node, peer_id: str) -> dict[str, Any]:
    peer: dict[str, Any] = next(p for p in status(node)["peers"] if p["node_id"] == peer_id)
    return peer


def nudge(node: Node, sender: str) -> None:
    """What the evil peer would do itself to be pulled at once: anyone may send a nudge."""
    response = httpx.post(
        f"{node.url}/federation/nudge",
        json={"node": sender, "origin": sender, "seq": 1},
        timeout=5,
    )
    assert response.status_code == 202, response.text


def records_of(node: Node, origin: str) -> list[dict[str, Any]]:
    recs: list[dict[str, Any]] = node.get("/federation/records", origin=origin)["records"]
    return recs


def stolen_replay(v1_full: dict[str, Any]) -> dict[str, Any]:
    """The replayed old version: Europe's version 1 of a member, exactly as Europe served
    it while it was current (header, signature *and body*), copied by a compromised relay
    before Europe published version 2.

    Why this and not the old version at a new seq: a record at a seq Europe never used
    would have to be signed by Europe, i.e. a stolen key, not a compromised relay; and it
    would put a seq into the hub's copy of Europe's log that Europe never issued, so the
    hub's Europe heads could no longer equal Europe's (the in-process test
    ``test_a_replayed_old_version_at_a_new_seq_is_history_not_a_crash`` covers that case).
    What a relay holding old records really can do is serve them at their original seq,
    body included. The hub holds that seq as a stub (same header): a duplicate, skipped
    and not quarantined, and because version 2 exists its body must not be "restored"
    from the replay (the withheld-body refill) nor roll the member back.
    """
    assert v1_full["body"] is not None and v1_full["record"]["version"] == 1
    return v1_full


# --- the test ----------------------------------------------------------------------------


def test_a_malicious_peer_cannot_poison_the_hub(tmp_path: Path) -> None:
    with Processes(tmp_path) as procs:
        fed = build(procs, tmp_path, ["hub", "europe", "asia"])
        evils: list[EvilPeer] = []  # filled as soon as it exists, so it is always stopped
        try:
            run_attack(fed, tmp_path, evils)
        finally:
            for evil in evils:
                evil.stop()


def run_attack(fed: Federation, root: Path, evils: list[EvilPeer]) -> None:
    hub, europe, asia = fed.hub, fed["europe"], fed["asia"]
    eu_id, asia_id = europe.node_id, asia.node_id

    def logs() -> str:
        return fed.logs() + "".join(f"\n--- evil\n{e.output()}" for e in evils)

    # Europe's data: a member at version 1, copied while current, then updated to version 2.
    made = europe.post(
        "members", member(f"{OLD_NAME} Clinic", "europe", "NL", "Nijmegen", 51.84, 5.85)
    )
    mid = made["id"]
    v1_full = next(e for e in records_of(europe, eu_id) if e["record"]["id"] == mid)
    renamed = member("Radboud Renamed Centre", "europe", "NL", "Nijmegen", 51.84, 5.85)
    response = httpx.put(
        f"{europe.url}/admin/members/{mid}",
        json=renamed,
        headers={"Authorization": f"Bearer {europe.token}", "If-Match": '"1"'},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    fed.wait_converged(["hub", "europe"], origins=[eu_id])
    eu_log = records_of(europe, eu_id)
    last = len(eu_log)  # Europe's last seq: 2
    assert [e["record"]["seq"] for e in eu_log] == list(range(1, last + 1))
    assert eu_log[0]["body"] is None and eu_log[0]["record"] == v1_full["record"]  # a stub now
    current = eu_log[-1]
    assert (current["record"]["id"], current["record"]["version"]) == (mid, 2)

    # Asia: admitted by build() while it was up; its real key, then it goes away.
    asia_key = load_key(NodeSettings.load(asia.home))
    node_info = asia.get("/node")
    assert node_info["public_key"] == asia_key.public_b64
    assert asia_id not in hub.heads()  # the real Asia never published anything
    roster_version = hub.roster_version()
    fed.stop("asia")
    evil = EvilPeer(root, asia.proc.port, node_info, roster_version)
    evils.append(evil)

    # --- stage 1: an honest Asia record at seq 1 -------------------------------------------
    honest = sealed(
        asia_key,
        asia_id,
        1,
        None,
        member("Honest Tokyo Clinic", "asia", "JP", "Tokyo", 35.67, 139.65),
    )
    evil.stage("honest", {asia_id: (1, [honest])})
    evil.start()
    for node in (hub, europe):
        nudge(node, asia_id)

    def honest_everywhere() -> bool:
        h, e = hub.heads().get(asia_id), europe.heads().get(asia_id)
        return h is not None and h == e and h[0] == 1

    poll_until(honest_everywhere, timeout=STAGE_S, what="the honest Asia record", detail=logs)
    assert hub.status_of(f"/members/{honest['record']['id']}") == 200
    assert listed(hub, "Honest") == 1
    assert reasons(hub) == {} and reasons(europe) == {}
    asia_heads = hub.heads()[asia_id]

    # --- stage 2: forged Europe record, out-of-scope Asia record ---------------------------
    forged = sealed(
        asia_key,  # Europe's origin and key id, Asia's key
        eu_id,
        last + 1,
        header_hash(current["record"]),
        member(f"{FORGED} Clinic", "europe", "NL", "Nijmegen", 51.84, 5.85),
    )
    assert forged["record"]["key_id"] == current["record"]["key_id"]
    out_of_scope = sealed(
        asia_key,  # Asia's own origin and key, a European member
        asia_id,
        2,
        header_hash(honest["record"]),
        member(f"{OUT_OF_SCOPE} Clinic", "europe", "NL", "Amsterdam", 52.37, 4.89),
    )
    evil.stage("forged", {eu_id: (last + 1, [forged]), asia_id: (2, [out_of_scope])})
    nudge(hub, asia_id)

    def stage_two() -> bool:
        assert_never_shown(hub, europe)
        seen = reasons(hub)
        assert set(seen) <= {"BadSignature", "OutOfScope"}, seen
        error = peer_view(hub, asia_id)["last_error"]
        return (
            seen.get("BadSignature", 0) >= 1
            and seen.get("OutOfScope", 0) >= 1
            and f"{eu_id}: BadSignature at seq {last + 1}" in error
            and f"{asia_id}: OutOfScope at seq 2" in error
        )

    poll_until(stage_two, timeout=STAGE_S, what="BadSignature and OutOfScope", detail=logs)

    # --- stage 3: tampered Europe record, equivocating Asia record -------------------------
    tampered = {**current, "body": {**current["body"], "name": f"{TAMPERED} Centre"}}
    equivocating = sealed(
        asia_key,
        asia_id,
        1,
        None,
        member(f"{EQUIVOCATED} Clinic", "asia", "JP", "Osaka", 34.69, 135.5),
    )
    assert header_hash(equivocating["record"]) != header_hash(honest["record"])
    evil.stage("tampered", {eu_id: (last + 1, [tampered]), asia_id: (2, [equivocating])})
    nudge(hub, asia_id)

    def stage_three() -> list[dict[str, Any]] | None:
        assert_never_shown(hub, europe)
        view = status(hub)
        seen = view["quarantine"]["by_reason"]
        assert set(seen) <= {"BadSignature", "OutOfScope", "BodyMismatch", "equivocation"}, seen
        alarms = [a for a in view["alarms"] if (a["origin"], a["seq"]) == (asia_id, 1)]
        done = seen.get("BodyMismatch", 0) >= 1 and seen.get("equivocation", 0) >= 1
        return alarms if done and alarms else None

    alarms = poll_until(
        stage_three, timeout=STAGE_S, what="BodyMismatch and equivocation", detail=logs
    )
    assert {a["peer"] for a in alarms} == {asia_id}  # served by the evil peer, no one else
    assert hub.heads()[asia_id] == asia_heads  # the first seq 1 held stays
    assert hub.status_of(f"/members/{honest['record']['id']}") == 200
    assert hub.status_of(f"/members/{equivocating['record']['id']}") == 404

    # --- stage 4: the stolen version 1, replayed at its original seq ------------------------
    replay = stolen_replay(v1_full)
    evil.stage("replay", {eu_id: (last + 1, [replay]), asia_id: (1, [honest])})
    nudge(hub, asia_id)
    # Two requests in this stage: the first one's page was fully applied before the second
    # (one peer's pulls never overlap), so the replay has been through the hub's merge.
    poll_until(
        lambda: evil.served("replay", eu_id) >= 2, timeout=STAGE_S, what="the replay", detail=logs
    )
    before = status(hub)["quarantine"]["total"]
    seen_requests = evil.served("replay", eu_id)
    poll_until(
        lambda: evil.served("replay", eu_id) >= seen_requests + 2,
        timeout=STAGE_S,
        what="two more replays",
        detail=logs,
    )
    assert status(hub)["quarantine"]["total"] == before, "a duplicate replay was quarantined"
    for node in (hub, europe):
        page = httpx.get(f"{node.url}/members/{mid}", timeout=10)
        assert page.status_code == 200
        assert (page.headers["etag"], page.json()["name"]) == ('"2"', "Radboud Renamed Centre")
        held = node.get(f"/records/{mid}")
        assert held["record"]["version"] == 2 and held["body"]["name"] == "Radboud Renamed Centre"
    assert_never_shown(hub, europe)

    # --- the hub's Europe is exactly Europe's, and sync with Europe still works -------------
    assert hub.heads()[eu_id] == europe.heads()[eu_id]
    added = europe.post(
        "members", member("Amsterdam UMC", "europe", "NL", "Amsterdam", 52.29, 4.96)
    )
    poll_until(
        lambda: hub.status_of(f"/members/{added['id']}") == 200,
        timeout=STAGE_S,
        what="a new Europe member on the hub while the evil peer is up",
        detail=logs,
    )
    poll_until(
        lambda: hub.heads()[eu_id] == europe.heads()[eu_id],
        timeout=STAGE_S,
        what="identical Europe heads",
        detail=logs,
    )
    assert hub.heads()[eu_id][:2] == (last + 1, last + 1)
    eu_view = peer_view(hub, eu_id)
    assert (eu_view["healthy"], eu_view["failures"]) == (True, 0), eu_view
    assert evil.proc is not None and evil.proc.running  # still around
    assert hub.proc.running and hub.get("/healthz")["status"] == "ok"
    assert_never_shown(hub, europe)

    final = reasons(hub)
    assert set(final) == {"BadSignature", "OutOfScope", "BodyMismatch", "equivocation"}, final
    assert set(reasons(europe)) <= {"OutOfScope", "equivocation"}  # it pulls the evil peer too
    assert hub.heads()[asia_id] == asia_heads  # Asia: the honest seq 1 only
    assert hub.get("/members", region="asia", count="true", limit=1)["total"] == 1


# --- a peer that answers a byte at a time ---------------------------------------------------

DRIP_S = 120  # longer than the test: the evil peer's heads never finish while it runs


def test_a_peer_that_answers_a_byte_at_a_time_does_not_stall_sync_with_the_others(
    tmp_path: Path,
) -> None:
    """Europe's nudges are off, so the hub learns of Europe's writes only from its periodic
    pull (a nudge is a hint; ignoring one is always safe, PROTOCOL.md 10.2). With the evil
    peer answering normally, a Europe write reaches the hub within a few seconds; once the
    evil peer drips its ``/federation/heads`` answer, the next one must arrive as fast."""
    with Processes(tmp_path) as procs:
        fed = build(
            procs, tmp_path, ["hub", "europe", "asia"], env={"europe": {"HEALTHNET_NUDGE": "false"}}
        )
        evils: list[EvilPeer] = []
        try:
            hub, europe, asia = fed.hub, fed["europe"], fed["asia"]
            node_info = asia.get("/node")
            roster_version = hub.roster_version()
            fed.stop("asia")
            evil = EvilPeer(tmp_path, asia.proc.port, node_info, roster_version)
            evils.append(evil)
            evil.stage("quiet", {asia.node_id: (0, [])})
            evil.start()

            def logs() -> str:
                return fed.logs() + f"\n--- evil\n{evil.output()}"

            # control: with the evil peer answering, the periodic pull carries Europe's write
            first = europe.post(
                "members", member("Amsterdam UMC", "europe", "NL", "Amsterdam", 52.29, 4.96)
            )
            poll_until(
                lambda: hub.status_of(f"/members/{first['id']}") == 200,
                timeout=STAGE_S,
                what="a Europe member on the hub without a nudge",
                detail=logs,
            )

            evil.stage("drip", {asia.node_id: (0, [])}, drip_seconds=DRIP_S)
            # Each of the hub and Europe is now inside a pull of the evil peer: a stuck
            # node asks once, so two requests are one from each.
            poll_until(
                lambda: evil.heads_asked("drip") >= 2,
                timeout=STAGE_S,
                what="the hub and Europe to ask the dripping peer",
                detail=logs,
            )
            second = europe.post(
                "members", member("Erasmus MC", "europe", "NL", "Rotterdam", 51.91, 4.47)
            )
            poll_until(
                lambda: hub.status_of(f"/members/{second['id']}") == 200,
                timeout=STAGE_S,
                what="a Europe member on the hub while another peer drips its answer",
                detail=logs,
            )
            assert hub.heads()[europe.node_id] == europe.heads()[europe.node_id]
        finally:
            for evil in evils:
                evil.stop()
