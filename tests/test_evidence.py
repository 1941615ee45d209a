"""Equivocation proofs (federation.evidence): what proves a split view, what does not, and
that a proof checks under the verifier's own roster keys whoever hands it over."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from support.envelopes import sealed
from support.rosters import key, rkey, rnode

from federation.errors import BadEvidence
from federation.evidence import EVIDENCE_TYPE, Shape, check_proof, make_proof, shape_of
from federation.keys import node_id_for
from federation.signing import header_hash
from federation.trust import Trust, listed_key
from schemas.geo import Region
from schemas.roster import NodeStatus, RosterBody

ORIGIN_KEY = key(1)
ORIGIN = node_id_for(ORIGIN_KEY.public_raw)
HUB_KEY = key(2)
HUB = node_id_for(HUB_KEY.public_raw)
ID = "3f2b8c1e-7d4a-4e6b-9c15-2a8e6f0d4b71"


def trust(status: NodeStatus = NodeStatus.ACTIVE) -> Trust:
    body = RosterBody(
        network="Health Social Media Network",
        hub=HUB,
        nodes=[
            rnode(HUB, Region.NORTH_AMERICA, [rkey(HUB_KEY)]),
            rnode(ORIGIN, Region.EUROPE, [rkey(ORIGIN_KEY)], status=status),
        ],
    )
    return Trust.from_roster(body, 3)


def keys(status: NodeStatus = NodeStatus.ACTIVE) -> Any:
    t = trust(status)
    return lambda origin, key_id, seq: listed_key(t, origin, key_id, seq)


def body(name: str) -> dict[str, Any]:
    return {"name": name, "kind": "hospital", "region": "europe", "country": "NL"}


def chain() -> list[dict[str, Any]]:
    """Three records of one origin, correctly linked."""
    out: list[dict[str, Any]] = []
    prev = None
    for seq in (1, 2, 3):
        env = sealed(ORIGIN_KEY, ORIGIN, seq, prev, body(f"Clinic {seq}"),
                     record_id=f"{ID[:-1]}{seq}")  # fmt: skip
        out.append(env)
        prev = header_hash(env["record"])
    return out


def test_two_headers_for_one_seq_are_a_fork() -> None:
    one = chain()
    other = sealed(ORIGIN_KEY, ORIGIN, 2, header_hash(one[0]["record"]), body("Other"))
    proof = make_proof(one[1], other)
    assert proof["type"] == EVIDENCE_TYPE and proof["shape"] == "fork"
    assert (proof["origin"], proof["seq"]) == (ORIGIN, 2)
    finding = check_proof(proof, keys())
    assert (finding.origin, finding.seq, finding.shape) == (ORIGIN, 2, Shape.FORK)
    assert set(finding.hashes) == {header_hash(one[1]["record"]), header_hash(other["record"])}


def test_a_next_record_linked_to_another_history_is_a_broken_link() -> None:
    one = chain()
    stranger = sealed(ORIGIN_KEY, ORIGIN, 3, "sha256:" + "A" * 43, body("Elsewhere"))
    proof = make_proof(stranger, one[1])  # order given does not matter
    assert proof["shape"] == "broken_link" and proof["seq"] == 2
    assert proof["a"]["record"]["seq"] == 2 and proof["b"]["record"]["seq"] == 3
    assert check_proof(proof, keys()).shape is Shape.BROKEN_LINK


def test_one_version_signed_twice_at_different_seqs_is_same_version() -> None:
    one = chain()
    again = sealed(ORIGIN_KEY, ORIGIN, 5, "sha256:" + "B" * 43, body("Twice"),
                   record_id=one[0]["record"]["id"])  # fmt: skip
    proof = make_proof(one[0], again)
    assert proof["shape"] == "same_version"
    assert check_proof(proof, keys()).seq == 1


def test_the_proof_is_the_same_whichever_order_it_is_built_in() -> None:
    one = chain()
    other = sealed(ORIGIN_KEY, ORIGIN, 2, header_hash(one[0]["record"]), body("Other"))
    assert make_proof(one[1], other) == make_proof(other, one[1])


@pytest.mark.parametrize("pair", ["same", "linked", "unrelated", "stub_and_live"])
def test_consistent_headers_prove_nothing(pair: str) -> None:
    one = chain()
    a, b = {
        "same": (one[1], one[1]),
        "linked": (one[1], one[2]),
        "unrelated": (one[0], one[2]),
        "stub_and_live": (one[1], {**one[1], "body": None}),
    }[pair]
    assert shape_of(a["record"], b["record"]) is None
    with pytest.raises(BadEvidence, match="consistent"):
        make_proof(a, b)


def _proof() -> dict[str, Any]:
    one = chain()
    other = sealed(ORIGIN_KEY, ORIGIN, 2, header_hash(one[0]["record"]), body("Other"))
    return make_proof(one[1], other)


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda p: p.pop("shape"), "members must be exactly"),
        (lambda p: p.update(extra=1), "members must be exactly"),
        (lambda p: p.update(type="healthnet.join.v1"), "evidence.type"),
        (lambda p: p.update(shape="broken_link"), "evidence.shape"),
        (lambda p: p.update(seq=3), "evidence.origin/seq"),
        (lambda p: p["a"].pop("sig"), "evidence.a: must be"),
        (lambda p: p["b"].update(body=None), "evidence.b: must be"),
        (lambda p: p["a"]["record"].update(seq="2"), "evidence.a.record.seq"),
        (lambda p: p["b"].update(sig=p["a"]["sig"]), "evidence.b.sig"),
        (lambda p: p["b"]["record"].update(issued_at="2030-01-01T00:00:00Z"), "evidence.b.sig"),
    ],
)
def test_a_doctored_proof_is_refused_naming_the_member(tamper: Any, message: str) -> None:
    proof = copy.deepcopy(_proof())
    tamper(proof)
    with pytest.raises(BadEvidence, match=message):
        check_proof(proof, keys())


def test_a_proof_signed_by_a_key_that_is_not_the_origins_is_refused() -> None:
    one = chain()
    forged = sealed(key(9), ORIGIN, 2, header_hash(one[0]["record"]), body("Framed"))
    proof = make_proof(one[1], forged)
    with pytest.raises(BadEvidence, match="evidence.b.sig|evidence.a.sig"):
        check_proof(proof, keys())


def test_a_proof_of_an_origin_not_in_the_roster_cannot_be_checked() -> None:
    stranger = key(7)
    sid = node_id_for(stranger.public_raw)
    a = sealed(stranger, sid, 1, None, body("A"))
    b = sealed(stranger, sid, 1, None, body("B"))
    with pytest.raises(BadEvidence, match="no key ed25519:1 of"):
        check_proof(make_proof(a, b), keys())


@pytest.mark.parametrize("status", [NodeStatus.SUSPENDED, NodeStatus.REVOKED])
def test_a_suspended_or_revoked_origins_proof_still_checks(status: NodeStatus) -> None:
    assert check_proof(_proof(), keys(status)).origin == ORIGIN


def test_not_a_json_object() -> None:
    with pytest.raises(BadEvidence, match="not a JSON object"):
        check_proof(["fork"], keys())
