"""Checkpoint cosignatures (federation.witness): the golden vector of PROTOCOL.md 10.8,
every malformed statement named, who may co-sign, and how checkpoints are compared."""

from __future__ import annotations

import base64
import copy
import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from support.rosters import key, rkey, rnode

from federation import witness
from federation.errors import BadEvidence
from federation.keys import from_seed, node_id_for
from federation.trust import Trust
from federation.witness import Agreement, Checkpoint, Cosignature
from schemas.geo import Region
from schemas.roster import KeyStatus, NodeStatus, RosterBody

# The vector: RFC 8032 7.1 TEST 1 co-signs the log of the TEST 2 key's node at size 42.
TEST1 = from_seed(bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
TEST2 = from_seed(bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"))
WITNESS = "hn-eh7ddx5bksrgcytl7bkai36s"
ORIGIN = "hn-hh3rhufgiqst6bcssqq3t5i3"
HEAD = "sha256:jq0S23CKgHcJCpnHY8oOkIqCXNa2VLxMVd4hSG7bwRE"
TIME = "2026-12-07T12:00:00Z"
MESSAGE = (
    b"healthnet.cosignature.v1\n"
    b'{"checkpoint":{"head":"sha256:jq0S23CKgHcJCpnHY8oOkIqCXNa2VLxMVd4hSG7bwRE",'
    b'"origin":"hn-hh3rhufgiqst6bcssqq3t5i3","size":42},"key_id":"ed25519:1",'
    b'"time":"2026-12-07T12:00:00Z","witness":"hn-eh7ddx5bksrgcytl7bkai36s"}'
)
SIG = "XeKmTZpRIi3L6AnkIC8CvyNDSudrUuH1vSFGKkmnsbY6CAALz6_Hp-P_jz0uB8Om2Istwfzb7J44VxXFsJMsAA"
CHECKPOINT = Checkpoint(ORIGIN, 42, HEAD)


def only(public: Ed25519PublicKey) -> witness.WitnessKeys:
    return lambda w, k: public if (w, k) == (WITNESS, "ed25519:1") else None


def test_the_golden_vector() -> None:
    assert node_id_for(TEST1.public_raw) == WITNESS
    assert node_id_for(TEST2.public_raw) == ORIGIN
    digest = hashlib.sha256(b"the canonical header at seq 42").digest()
    assert HEAD == "sha256:" + base64.urlsafe_b64encode(digest).decode().rstrip("=")
    signed = witness.signed_bytes(CHECKPOINT, witness=WITNESS, key_id="ed25519:1", time=TIME)
    assert signed == MESSAGE
    cosig = witness.cosign(TEST1, witness=WITNESS, checkpoint=CHECKPOINT, time=TIME)
    assert cosig.sig == SIG  # Ed25519 is deterministic
    statement = cosig.statement()
    assert statement == {
        "type": "healthnet.cosignature.v1",
        "checkpoint": {"origin": ORIGIN, "size": 42, "head": HEAD},
        "witness": WITNESS,
        "key_id": "ed25519:1",
        "time": TIME,
        "sig": SIG,
    }
    assert witness.check_cosignature(statement, only(TEST1.private.public_key())) == cosig


def test_an_independent_reading_of_the_message() -> None:
    """From PROTOCOL.md alone: the prefix line, then RFC 8785 of the four members."""
    TEST1.private.public_key().verify(base64.urlsafe_b64decode(SIG + "=="), MESSAGE)


def _statement() -> dict[str, Any]:
    return witness.cosign(TEST1, witness=WITNESS, checkpoint=CHECKPOINT, time=TIME).statement()


@pytest.mark.parametrize(
    ("tamper", "field"),
    [
        (lambda s: s.pop("time"), "members must be exactly"),
        (lambda s: s.update(note="hi"), "members must be exactly"),
        (lambda s: s.update(type="healthnet.join.v1"), "cosignature.type"),
        (lambda s: s.update(checkpoint=[1]), "cosignature.checkpoint"),
        (lambda s: s["checkpoint"].update(size=0), "checkpoint.size"),
        (lambda s: s["checkpoint"].update(size=True), "checkpoint.size"),
        (lambda s: s["checkpoint"].update(size=2**53), "checkpoint.size"),
        (lambda s: s["checkpoint"].update(origin="hn-x"), "checkpoint.origin"),
        (lambda s: s["checkpoint"].update(head="sha256:short"), "checkpoint.head"),
        (lambda s: s.update(witness=None), "cosignature.witness"),
        (lambda s: s.update(key_id="ed25519:0"), "cosignature.key_id"),
        (lambda s: s.update(time="2026-12-07T12:00:00.5Z"), "cosignature.time"),
        (lambda s: s.update(sig="x" * 85), "cosignature.sig"),
        (lambda s: s["checkpoint"].update(size=43), "cosignature.sig"),
        (lambda s: s.update(time="2026-12-07T12:00:01Z"), "cosignature.sig"),
    ],
)
def test_a_malformed_or_altered_statement_is_refused_by_name(tamper: Any, field: str) -> None:
    statement = copy.deepcopy(_statement())
    tamper(statement)
    with pytest.raises(BadEvidence, match=field):
        witness.check_cosignature(statement, only(TEST1.private.public_key()))


def test_a_join_signature_can_never_pass_for_a_cosignature() -> None:
    """Domain separation: the same key signing the canonical statement without the
    prefix (as a record or a join request could be made to) does not verify."""
    from federation.canonical import b64url

    statement = _statement()
    bare = MESSAGE.split(b"\n", 1)[1]
    statement["sig"] = b64url(TEST1.sign(bare))
    with pytest.raises(BadEvidence, match="cosignature.sig"):
        witness.check_cosignature(statement, only(TEST1.private.public_key()))


def roster(**witness_kw: Any) -> Trust:
    w_key = witness_kw.pop("key", rkey(TEST1))
    body = RosterBody(
        network="Health Social Media Network",
        hub=ORIGIN,
        nodes=[
            rnode(ORIGIN, Region.NORTH_AMERICA, [rkey(TEST2)]),
            rnode(WITNESS, Region.EUROPE, [w_key], **witness_kw),
        ],
    )
    return Trust.from_roster(body, 2)


@pytest.mark.parametrize(
    ("kw", "allowed"),
    [
        ({}, True),
        ({"status": NodeStatus.SUSPENDED}, False),
        ({"status": NodeStatus.REVOKED}, False),
        ({"key": rkey(TEST1, status=KeyStatus.REVOKED, until_seq=9)}, False),
        ({"key": rkey(TEST1, until_seq=9)}, True),  # closed by a rotation, not revoked
    ],
)
def test_who_may_co_sign(kw: dict[str, Any], allowed: bool) -> None:
    keys = witness.witness_keys(roster(**kw))
    assert (keys(WITNESS, "ed25519:1") is not None) is allowed
    assert keys(WITNESS, "ed25519:2") is None
    assert keys(node_id_for(key(5).public_raw), "ed25519:1") is None  # not in the roster
    if allowed:
        witness.check_cosignature(_statement(), keys)
    else:
        with pytest.raises(BadEvidence, match="may not co-sign"):
            witness.check_cosignature(_statement(), keys)


def test_compare() -> None:
    assert witness.compare(CHECKPOINT, HEAD) is Agreement.AGREES
    assert witness.compare(CHECKPOINT, "sha256:" + "A" * 43) is Agreement.CONFLICTS
    assert witness.compare(CHECKPOINT, None) is Agreement.AHEAD


def _cosig(w: str, size: int, head: str) -> Cosignature:
    return Cosignature(Checkpoint(ORIGIN, size, head), w, "ed25519:1", TIME, SIG)


def test_conflicting_pairs_are_found_once_each() -> None:
    a, b = "hn-" + "a" * 24, "hn-" + "b" * 24
    other = "sha256:" + "B" * 43
    cosigs = [_cosig(a, 42, HEAD), _cosig(b, 42, other), _cosig(a, 42, other),
              _cosig(b, 43, other), _cosig(a, 41, HEAD)]  # fmt: skip
    pairs = witness.conflicting(cosigs)
    assert [(x.witness, y.witness, y.checkpoint.head) for x, y in pairs] == [(a, b, other)]
    assert witness.conflicting([_cosig(a, 42, HEAD), _cosig(b, 42, HEAD)]) == []


def test_witnesses_of_a_record() -> None:
    a, b, c = "hn-" + "a" * 24, "hn-" + "b" * 24, "hn-" + "c" * 24
    head_at = {40: "sha256:" + "C" * 43, 42: HEAD}
    cosigs = [
        _cosig(a, 42, HEAD),
        _cosig(b, 42, HEAD),
        _cosig(c, 42, "sha256:" + "D" * 43),  # another head: not this log
        _cosig(c, 40, "sha256:" + "C" * 43),
        _cosig(ORIGIN, 42, HEAD),  # the origin's own word is not a witness
    ]
    assert witness.witnesses_of(cosigs, origin=ORIGIN, seq=41, head_at=head_at) == {a, b}
    assert witness.witnesses_of(cosigs, origin=ORIGIN, seq=40, head_at=head_at) == {a, b, c}
    assert witness.witnesses_of(cosigs, origin=ORIGIN, seq=43, head_at=head_at) == set()
