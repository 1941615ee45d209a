"""Known-answer tests for the protocol's decisions: tests/vectors/{merge,digests,key_windows}.json.

Each committed case is checked twice: against healthnet's pure functions (merge, digest,
trust), adapted from the documented wire values in the file to the functions' signatures,
and against an independent reading of docs/PROTOCOL.md written here with nothing but
``rfc8785``, ``hashlib`` and the standard library, to show that the document and the
vectors are enough for another implementation. Last, both generators are run into a
temporary directory: they must reproduce the committed files byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from support.paths import ROOT, VECTORS

from federation import digest, errors
from federation.canonical import b64url
from federation.keys import from_seed, node_id_for, public_key
from federation.merge import Held, Tip, Verdict, merge
from federation.signing import header_hash, verify_envelope
from federation.trust import Trust, key_valid
from schemas.record import Envelope
from schemas.roster import RosterBody, RosterKey


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((VECTORS / name).read_text("utf-8"))
    return loaded


MERGE = _load("merge.json")
DIGESTS = _load("digests.json")
WINDOWS = _load("key_windows.json")
RECORDS = _load("record_vectors.json")
CHAIN = sorted(RECORDS["valid"], key=lambda case: case["header"]["seq"])
MERGE_CASES: list[dict[str, Any]] = MERGE["cases"]
LOOKUPS: list[dict[str, Any]] = WINDOWS["lookups"]
PINNED: list[dict[str, Any]] = WINDOWS["pinned"]["lookups"]
KEY_CASES: list[dict[str, Any]] = WINDOWS["windows"]


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["name"] for case in cases]


def _tag(data: bytes) -> str:
    """docs/PROTOCOL.md 1.5, independently: sha256: + unpadded base64url."""
    return "sha256:" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


# --------------------------------------------------------------------------- merge.json


def _merge(case: dict[str, Any]) -> Verdict:
    """The case's documented values, adapted to merge()'s signature."""
    held, offered = case["held"], case["offered"]
    versions = {v["version"]: v["header_hash"] for v in held["versions"]}
    top = max(versions, default=None)
    current = None if top is None else Held(top, versions[top], frozenset(versions) - {top})
    return merge(
        offered["record"],
        offered["body"],
        incoming_hash=header_hash(offered["record"]),
        tip=Tip(held["last_seq"], held["head"]),
        held_at_seq=held["at_seq"],
        current=current,
        claimed_by=held["owner"],
    )


def _documented_verdict(case: dict[str, Any]) -> str:
    """docs/PROTOCOL.md 10.4 row by row, preceded by the ownership rule of section 12."""
    held, header, body = case["held"], case["offered"]["record"], case["offered"]["body"]
    incoming = _tag(rfc8785.dumps(header))
    if held["owner"] is not None and held["owner"] != header["origin"]:
        return "foreign"
    seq, tip = header["seq"], held["last_seq"]
    if seq <= tip:
        return "duplicate" if held["at_seq"] == incoming else "equivocation"
    if seq > tip + 1:
        return "gap"
    if header["prev"] != held["head"]:
        return "equivocation"
    versions = {v["version"]: v["header_hash"] for v in held["versions"]}
    if header["version"] in versions:
        return "duplicate" if versions[header["version"]] == incoming else "equivocation"
    if versions and header["version"] < max(versions):
        return "history"
    if body is None and not header["deleted"]:
        return "stub"
    return "apply"


@pytest.mark.parametrize("case", MERGE_CASES, ids=_ids(MERGE_CASES))
def test_merge_vector(case: dict[str, Any]) -> None:
    offered = case["offered"]
    verify_envelope(offered, public_key(MERGE["origin"]["public_key"]))  # merge takes verified
    Envelope.model_validate(offered)
    assert header_hash(offered["record"]) == case["offered_header_hash"]
    assert _merge(case).value == case["verdict"]
    assert _documented_verdict(case) == case["verdict"]


@pytest.mark.parametrize("case", MERGE_CASES, ids=_ids(MERGE_CASES))
def test_merge_vector_held_state_is_a_dense_prefix(case: dict[str, Any]) -> None:
    held, header = case["held"], case["offered"]["record"]
    assert (held["head"] is None) == (held["last_seq"] == 0)
    assert (held["at_seq"] is None) == (header["seq"] > held["last_seq"])
    assert held["owner"] in (None, MERGE["origin"]["node_id"], MERGE["other_origin"])
    if held["owner"] == MERGE["other_origin"]:
        assert held["versions"] == []
    elif case["reachable"]:
        assert (held["owner"] is None) == (held["versions"] == [])
    if held["last_seq"] and held["last_seq"] <= len(CHAIN):
        assert held["head"] == CHAIN[held["last_seq"] - 1]["header_hash"]


def test_merge_vectors_cover_every_verdict_and_name_them_as_the_code_does() -> None:
    assert MERGE["verdicts"] == [v.value for v in Verdict]
    assert {case["verdict"] for case in MERGE_CASES} == set(MERGE["verdicts"])
    assert [case["name"] for case in MERGE_CASES if not case["reachable"]] == [
        "same_header_as_current_at_next_seq"
    ]
    origin = MERGE["origin"]
    key = from_seed(bytes.fromhex(origin["seed_hex"]), origin["key_id"])
    assert origin["node_id"] == node_id_for(key.public_raw) == RECORDS["key"]["node_id"]


# --------------------------------------------------------------------------- digests.json


def _int(text: str) -> int:
    assert len(text) == 64 and text == text.lower()
    return int(text, 16)


@pytest.mark.parametrize("row", DIGESTS["records"], ids=lambda row: f"seq{row['seq']}")
def test_digest_record_elements(row: dict[str, Any]) -> None:
    header = row["header"]
    assert header == CHAIN[row["seq"] - 1]["header"]
    assert header_hash(header) == _tag(rfc8785.dumps(header)) == row["header_hash"]
    triple = [header["id"], header["version"], row["header_hash"]]
    assert rfc8785.dumps(triple) == row["element_json"].encode("utf-8")
    assert hashlib.sha256(row["element_json"].encode("utf-8")).hexdigest() == row["element"]
    assert _int(row["element"]) == digest.element(*triple)


@pytest.mark.parametrize("case", DIGESTS["elements"], ids=_ids(DIGESTS["elements"]))
def test_digest_edge_elements(case: dict[str, Any]) -> None:
    triple = [case["record_id"], case["version"], case["header_hash"]]
    assert rfc8785.dumps(triple) == case["element_json"].encode("utf-8")
    assert hashlib.sha256(rfc8785.dumps(triple)).hexdigest() == case["element"]
    assert _int(case["element"]) == digest.element(*triple)


@pytest.mark.parametrize("case", DIGESTS["sets"], ids=_ids(DIGESTS["sets"]))
def test_digest_sets(case: dict[str, Any]) -> None:
    values = [_int(v) for v in case["elements"]]
    assert digest.combine(values) == case["digest"] == format(sum(values) % 2**256, "064x")
    assert case["count"] == len(values)
    assert case["wraps"] == (sum(values) >= 2**256)
    if "seqs" in case:
        by_seq = {row["seq"]: row["element"] for row in DIGESTS["records"]}
        assert case["elements"] == [by_seq[seq] for seq in case["seqs"]]


def test_digest_sets_are_order_free_and_see_a_changed_header() -> None:
    by_name = {case["name"]: case["digest"] for case in DIGESTS["sets"]}
    assert by_name["chain_in_seq_order"] == by_name["chain_reversed"] == by_name["chain_shuffled"]
    assert by_name["chain_with_equivocating_seq_3"] != by_name["chain_in_seq_order"]
    assert by_name["empty"] == DIGESTS["empty"] == digest.EMPTY == "0" * 64


def test_digest_heads_grow_one_record_at_a_time() -> None:
    heads, rows = DIGESTS["heads"], DIGESTS["records"]
    assert [h["last_seq"] for h in heads] == list(range(len(rows) + 1))
    assert heads[0] == {"last_seq": 0, "head": None, "count": 0, "digest": digest.EMPTY}
    for before, now, row in zip(heads[:-1], heads[1:], rows, strict=True):
        assert now["head"] == row["header_hash"] and now["count"] == now["last_seq"]
        assert digest.add(before["digest"], _int(row["element"])) == now["digest"]
        assert (_int(before["digest"]) + _int(row["element"])) % 2**256 == _int(now["digest"])


@pytest.mark.parametrize("case", DIGESTS["ranges"], ids=lambda c: f"{c['from_seq']}-{c['to_seq']}")
def test_digest_ranges(case: dict[str, Any]) -> None:
    inside = [row for row in DIGESTS["records"] if case["from_seq"] <= row["seq"] <= case["to_seq"]]
    assert case["count"] == len(inside)
    assert digest.combine([_int(row["element"]) for row in inside]) == case["digest"]


def test_digest_ranges_add_up_to_the_whole() -> None:
    by_range = {(c["from_seq"], c["to_seq"]): c["digest"] for c in DIGESTS["ranges"]}
    assert digest.add(by_range[(1, 2)], _int(by_range[(3, 5)])) == by_range[(1, 5)]
    assert by_range[(1, 5)] == DIGESTS["heads"][-1]["digest"]


@pytest.mark.parametrize("case", DIGESTS["additions"], ids=_ids(DIGESTS["additions"]))
def test_digest_additions(case: dict[str, Any]) -> None:
    assert digest.add(case["digest"], _int(case["element"])) == case["result"]
    assert (_int(case["digest"]) + _int(case["element"])) % 2**256 == _int(case["result"])


# --------------------------------------------------------------------------- key_windows.json

TRUST = Trust.from_roster(RosterBody.model_validate(WINDOWS["roster"]), 1)


def _lookup(table: Trust, case: dict[str, Any]) -> dict[str, str]:
    try:
        found = table.key_for(origin=case["origin"], key_id=case["key_id"], seq=case["seq"])
    except errors.SignatureError as exc:
        return {"error": type(exc).__name__}
    return {"public_key": b64url(found.public_bytes_raw())}


def _documented_lookup(roster: dict[str, Any], case: dict[str, Any]) -> dict[str, str]:
    """docs/PROTOCOL.md 10.1, checks (1) to (4), in that order."""
    node = next((n for n in roster["nodes"] if n["node_id"] == case["origin"]), None)
    if node is None:
        return {"error": "UnknownKey"}
    if node["status"] != "active":
        return {"error": "OutOfScope"}
    key = next((k for k in node["keys"] if k["key_id"] == case["key_id"]), None)
    if key is None:
        return {"error": "UnknownKey"}
    if not _documented_window(key, case["seq"]):
        return {"error": "RevokedKey"}
    return {"public_key": key["public_key"]}


def _documented_window(key: dict[str, Any], seq: int) -> bool:
    if seq < key["from_seq"]:
        return False
    if key["until_seq"] is None:
        return key["status"] == "active"
    return seq <= key["until_seq"]


def test_key_window_roster_is_a_valid_roster_body_in_full_form() -> None:
    assert RosterBody.model_validate(WINDOWS["roster"]).model_dump(mode="json") == WINDOWS["roster"]
    assert WINDOWS["roster"]["hub"] == RECORDS["key"]["node_id"]


@pytest.mark.parametrize("key", WINDOWS["keys"], ids=lambda key: key["label"])
def test_key_window_seeds_give_the_listed_keys(key: dict[str, Any]) -> None:
    signing = from_seed(bytes.fromhex(key["seed_hex"]), key["key_id"])
    assert signing.public_b64 == key["public_key"]
    if key["key_id"] == "ed25519:1":  # a node id derives from the node's first key
        assert node_id_for(signing.public_raw) == key["node_id"]
    listed = [
        k
        for n in WINDOWS["roster"]["nodes"]
        if n["node_id"] == key["node_id"]
        for k in n["keys"]
        if k["key_id"] == key["key_id"]
    ]
    if key["label"] != "unlisted_1":
        assert [k["public_key"] for k in listed] == [key["public_key"]]


@pytest.mark.parametrize("case", LOOKUPS, ids=_ids(LOOKUPS))
def test_key_window_lookup(case: dict[str, Any]) -> None:
    assert _lookup(TRUST, case) == case["expect"]
    assert _documented_lookup(WINDOWS["roster"], case) == case["expect"]


@pytest.mark.parametrize("case", PINNED, ids=_ids(PINNED))
def test_key_window_pinned_lookup(case: dict[str, Any]) -> None:
    pinned = Trust.pinned(WINDOWS["pinned"]["hub_key"])
    assert _lookup(pinned, case) == case["expect"]
    hub = WINDOWS["roster"]["hub"]
    independent = (
        {"public_key": WINDOWS["pinned"]["hub_key"]}
        if (case["origin"], case["key_id"]) == (hub, "ed25519:1")
        else {"error": "UnknownKey"}
    )
    assert independent == case["expect"]


@pytest.mark.parametrize("case", KEY_CASES, ids=_ids(KEY_CASES))
def test_key_window(case: dict[str, Any]) -> None:
    key = RosterKey.model_validate(case["key"])
    assert key.model_dump(mode="json") == case["key"]
    assert key_valid(key, case["seq"]) is case["valid"]
    assert _documented_window(case["key"], case["seq"]) is case["valid"]


def test_key_window_lookups_probe_both_sides_of_every_boundary() -> None:
    for node in WINDOWS["roster"]["nodes"]:
        if node["status"] != "active":
            continue
        for key in node["keys"]:
            probed = {
                c["seq"]
                for c in LOOKUPS
                if (c["origin"], c["key_id"]) == (node["node_id"], key["key_id"])
            }
            if key["from_seq"] > 1:
                assert {key["from_seq"] - 1, key["from_seq"]} <= probed, key
            if key["until_seq"] is not None:
                assert {key["until_seq"], key["until_seq"] + 1} <= probed, key
            assert probed, key


# --------------------------------------------------------------------------- generators


@pytest.mark.parametrize(
    ("script", "names"),
    [
        ("make_protocol_vectors.py", ["merge.json", "digests.json", "key_windows.json"]),
        ("make_vectors.py", ["record_vectors.json"]),
    ],
)
def test_generator_reproduces_the_committed_files(
    script: str, names: list[str], tmp_path: Path
) -> None:
    subprocess.run(
        [sys.executable, str(VECTORS / script), "--out", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    for name in names:
        assert (tmp_path / name).read_bytes() == (VECTORS / name).read_bytes(), name


# --------------------------------------------------------------------------- the document


def test_protocol_document_describes_every_vector_file_and_merge_case() -> None:
    doc = (ROOT / "docs" / "PROTOCOL.md").read_text("utf-8")
    section = doc[doc.index("## 12. Test vectors") :]
    for path in sorted(VECTORS.iterdir()):
        if not path.name.startswith((".", "__")):
            assert f"`{path.name}" in section, path.name
    for case in MERGE_CASES:
        assert f"| `{case['name']}` |" in section, case["name"]
    for verdict in Verdict:
        assert f"`{verdict.value}`" in section, verdict
