"""Federation under bad records: a *malicious relay* (tests/support/faults.py) speaks
just enough of the sync protocol to serve crafted envelopes, some signed with the real
origin's key, in place of a node the hub really admitted; forged, tampered, out-of-scope
and malformed records, equivocation, replays, and bodies withheld as stubs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.clock import Clock
from support.envelopes import sealed
from support.faults import (
    World,
    body_in,
    create_member,
    envelopes,
    heads_of,
    quarantined,
    seqs,
    stored,
    tip,
    total,
    update_member,
    world_test,
)
from support.fedkit import call, get_json

from federation import keys
from federation.keys import public_key
from federation.signing import header_hash, verify_envelope
from schemas.geo import Region

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
        # The pull that quarantined it also made it a proof, served to every peer (10.8),
        # although the pull before had found the quarantine empty.
        (proof,) = (await get_json(w.asia, "/federation/evidence"))["evidence"]
        assert {header_hash(proof["a"]["record"]), header_hash(proof["b"]["record"])} == {
            header_hash(other["record"]),
            header_hash(good[2]["record"]),
        }

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
