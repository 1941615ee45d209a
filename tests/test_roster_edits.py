"""federation.roster: the hub's roster edits, as pure functions from body to body.

Each edit is checked on the body it returns, on the input (never mutated: compared through
``model_dump`` before and after), and through ``Trust``: which really signed records a
receiver accepts under the edited roster.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.envelopes import sealed
from support.rosters import key, receive, rkey, rnode

from federation.errors import (
    BadSignature,
    HealthnetError,
    OutOfScope,
    RevokedKey,
    SignatureError,
    UnknownKey,
)
from federation.keys import SigningKey, node_id_for
from federation.roster import with_node, with_revoked_key, with_rotated_key, with_status
from federation.signing import verify_envelope
from federation.trust import Trust, key_valid
from schemas.geo import Region
from schemas.roster import KeyStatus, NodeStatus, RosterBody, RosterKey, RosterNode

HUB_K = key(1)
EU_K1, EU_K2, EU_K3 = key(2), key(3, "ed25519:2"), key(4, "ed25519:3")
AS_K = key(5)
NEW_K = key(6)
HUB = node_id_for(HUB_K.public_raw)
EU = node_id_for(EU_K1.public_raw)
AS = node_id_for(AS_K.public_raw)
NEW = node_id_for(NEW_K.public_raw)
NOBODY = node_id_for(key(99).public_raw)

REGION_BODY = {
    HUB: {"region": "north-america", "country": "US"},
    EU: {"region": "europe", "country": "NL"},
    AS: {"region": "asia", "country": "JP"},
    NEW: {"region": "africa", "country": "KE"},
}


def base() -> RosterBody:
    return RosterBody(
        hub=HUB,
        nodes=[
            rnode(HUB, Region.NORTH_AMERICA, [rkey(HUB_K)]),
            rnode(EU, Region.EUROPE, [rkey(EU_K1)]),
            rnode(AS, Region.ASIA, [rkey(AS_K)]),
        ],
    )


def dump(body: RosterBody) -> dict[str, Any]:
    return body.model_dump(mode="json")


def revalidated(body: RosterBody) -> RosterBody:
    """What a peer parses from the signed roster (the hub dumps it with exclude_none)."""
    return RosterBody.model_validate(body.model_dump(mode="json", exclude_none=True))


def node_of(body: RosterBody, node_id: str) -> RosterNode:
    (node,) = [n for n in body.nodes if n.node_id == node_id]
    return node


def keys_of(body: RosterBody, node_id: str) -> dict[str, RosterKey]:
    return {k.key_id: k for k in node_of(body, node_id).keys}


def signed(signer: SigningKey, origin: str, seq: int) -> dict[str, Any]:
    return sealed(
        signer,
        origin,
        seq,
        None if seq == 1 else "sha256:" + "A" * 43,
        {"name": "A member", "kind": "hospital", **REGION_BODY[origin]},
        record_id="3f2b8c1e-7d4a-4e6b-9c15-2a8e6f0d4b71",
        issued_at="2026-01-01T00:00:00Z",
    )


def accept(body: RosterBody, env: dict[str, Any]) -> None:
    receive(Trust.from_roster(body, 2), env)


# --------------------------------------------------------------------------- with_node


def test_with_node_adds() -> None:
    before = base()
    snapshot = dump(before)
    node = rnode(NEW, Region.AFRICA, [rkey(NEW_K)])
    after = with_node(before, node)
    assert dump(before) == snapshot
    assert after is not before
    assert [n.node_id for n in after.nodes] == [HUB, EU, AS, NEW]
    assert node_of(after, NEW) == node
    assert after.hub == HUB and after.network == before.network
    with pytest.raises(UnknownKey):
        accept(before, signed(NEW_K, NEW, 1))
    accept(after, signed(NEW_K, NEW, 1))
    revalidated(after)


def test_with_node_replaces_the_entry_of_the_same_id() -> None:
    before = base()
    snapshot = dump(before)
    renamed = rnode(EU, Region.EUROPE, [rkey(EU_K1)], name="Radboudumc")
    after = with_node(before, renamed)
    assert dump(before) == snapshot
    assert len(after.nodes) == 3
    assert sorted(n.node_id for n in after.nodes) == sorted([HUB, EU, AS])
    assert node_of(after, EU).name == "Radboudumc"
    assert node_of(before, EU).name != "Radboudumc"
    for other in (HUB, AS):
        assert node_of(after, other) == node_of(before, other)
    revalidated(after)


def test_with_node_replacing_keys_changes_what_is_trusted() -> None:
    before = base()
    after = with_node(before, rnode(EU, Region.EUROPE, [rkey(EU_K2)]))
    accept(before, signed(EU_K1, EU, 1))
    with pytest.raises(UnknownKey):
        accept(after, signed(EU_K1, EU, 1))
    accept(after, signed(EU_K2, EU, 1))


def test_with_node_region_change_moves_the_scope() -> None:
    before = base()
    after = with_node(before, rnode(EU, Region.ASIA, [rkey(EU_K1)]))
    env = signed(EU_K1, EU, 1)  # a Europe member
    accept(before, env)
    with pytest.raises(OutOfScope):
        accept(after, env)


# --------------------------------------------------------------------------- with_status


@pytest.mark.parametrize("status", [NodeStatus.SUSPENDED, NodeStatus.REVOKED])
def test_with_status_refuses_the_node(status: NodeStatus) -> None:
    before = base()
    snapshot = dump(before)
    after = with_status(before, EU, status)
    assert dump(before) == snapshot
    assert node_of(after, EU).status is status
    assert node_of(before, EU).status is NodeStatus.ACTIVE
    assert node_of(after, EU).keys == node_of(before, EU).keys
    assert node_of(after, AS) == node_of(before, AS)
    env = signed(EU_K1, EU, 5)
    accept(before, env)
    with pytest.raises(OutOfScope):
        accept(after, env)
    accept(after, signed(AS_K, AS, 5))  # others unaffected
    assert node_of(revalidated(after), EU).status is status


def test_with_status_restores() -> None:
    suspended = with_status(base(), EU, NodeStatus.SUSPENDED)
    snapshot = dump(suspended)
    restored = with_status(suspended, EU, NodeStatus.ACTIVE)
    assert dump(suspended) == snapshot
    assert node_of(restored, EU).status is NodeStatus.ACTIVE
    accept(restored, signed(EU_K1, EU, 5))


@pytest.mark.parametrize("status", [NodeStatus.SUSPENDED, NodeStatus.REVOKED])
def test_the_hub_cannot_suspend_or_revoke_itself(status: NodeStatus) -> None:
    before = base()
    snapshot = dump(before)
    with pytest.raises(HealthnetError) as info:
        with_status(before, HUB, status)
    assert not isinstance(info.value, SignatureError)
    assert dump(before) == snapshot


def test_the_hub_may_be_set_active() -> None:
    after = with_status(base(), HUB, NodeStatus.ACTIVE)
    assert node_of(after, HUB).status is NodeStatus.ACTIVE
    accept(after, signed(HUB_K, HUB, 1))


@pytest.mark.parametrize("status", list(NodeStatus))
def test_with_status_of_an_unknown_node(status: NodeStatus) -> None:
    before = base()
    snapshot = dump(before)
    with pytest.raises(HealthnetError, match="not in the roster"):
        with_status(before, NOBODY, status)
    assert dump(before) == snapshot


# --------------------------------------------------------------------------- with_rotated_key


def test_rotation_closes_the_old_key_at_from_seq_minus_one() -> None:
    before = base()
    snapshot = dump(before)
    after = with_rotated_key(before, EU, rkey(EU_K2, from_seq=42))
    assert dump(before) == snapshot
    keys = keys_of(after, EU)
    assert list(keys) == ["ed25519:1", "ed25519:2"]
    assert (keys["ed25519:1"].from_seq, keys["ed25519:1"].until_seq) == (1, 41)
    assert keys["ed25519:1"].status is KeyStatus.ACTIVE  # rotated, not revoked
    assert (keys["ed25519:2"].from_seq, keys["ed25519:2"].until_seq) == (42, None)
    assert keys_of(before, EU)["ed25519:1"].until_seq is None
    assert node_of(after, AS) == node_of(before, AS)
    assert node_of(after, HUB) == node_of(before, HUB)
    revalidated(after)


@pytest.mark.parametrize("seq", [1, 2, 40, 41])
def test_records_signed_before_rotation_stay_valid(seq: int) -> None:
    after = with_rotated_key(base(), EU, rkey(EU_K2, from_seq=42))
    accept(after, signed(EU_K1, EU, seq))
    with pytest.raises(RevokedKey):
        accept(after, signed(EU_K2, EU, seq))  # the new key cannot sign the past


@pytest.mark.parametrize("seq", [42, 43, 10**6])
def test_after_rotation_the_old_key_is_refused(seq: int) -> None:
    before = base()
    after = with_rotated_key(before, EU, rkey(EU_K2, from_seq=42))
    accept(before, signed(EU_K1, EU, seq))
    with pytest.raises(RevokedKey):
        accept(after, signed(EU_K1, EU, seq))
    accept(after, signed(EU_K2, EU, seq))
    # the old key signing under the new key id is caught by the signature
    forged = signed(SigningKey("ed25519:2", EU_K1.private), EU, seq)
    with pytest.raises(BadSignature):
        accept(after, forged)


def test_second_rotation_closes_only_the_open_key() -> None:
    once = with_rotated_key(base(), EU, rkey(EU_K2, from_seq=42))
    snapshot = dump(once)
    twice = with_rotated_key(once, EU, rkey(EU_K3, from_seq=100))
    assert dump(once) == snapshot
    keys = keys_of(twice, EU)
    assert [(k.from_seq, k.until_seq) for k in keys.values()] == [(1, 41), (42, 99), (100, None)]
    for seq, good in [(41, EU_K1), (42, EU_K2), (99, EU_K2), (100, EU_K3), (500, EU_K3)]:
        accept(twice, signed(good, EU, seq))
        for other in {EU_K1, EU_K2, EU_K3} - {good}:
            with pytest.raises(RevokedKey):
                accept(twice, signed(other, EU, seq))
    revalidated(twice)


def test_rotation_shortens_a_key_already_closed_after_the_new_start() -> None:
    """A key closed at 200 and a new key from 150: the old one ends at 149."""
    closed = with_node(base(), rnode(EU, Region.EUROPE, [rkey(EU_K1, until_seq=200)]))
    after = with_rotated_key(closed, EU, rkey(EU_K2, from_seq=150))
    assert keys_of(after, EU)["ed25519:1"].until_seq == 149
    with pytest.raises(RevokedKey):
        accept(after, signed(EU_K1, EU, 150))


def test_rotation_keeps_a_key_already_closed_before_the_new_start() -> None:
    closed = with_node(base(), rnode(EU, Region.EUROPE, [rkey(EU_K1, until_seq=30)]))
    after = with_rotated_key(closed, EU, rkey(EU_K2, from_seq=42))
    assert keys_of(after, EU)["ed25519:1"].until_seq == 30


def test_rotation_refuses_a_duplicate_key_id() -> None:
    before = base()
    snapshot = dump(before)
    with pytest.raises(HealthnetError, match="already lists"):
        with_rotated_key(
            before, EU, RosterKey(key_id="ed25519:1", public_key=EU_K2.public_b64, from_seq=42)
        )
    once = with_rotated_key(before, EU, rkey(EU_K2, from_seq=42))
    once_snapshot = dump(once)
    with pytest.raises(HealthnetError, match="already lists"):
        with_rotated_key(once, EU, rkey(EU_K2, from_seq=80))
    with pytest.raises(HealthnetError):
        with_rotated_key(once, EU, rkey(SigningKey("ed25519:1", EU_K3.private), from_seq=80))
    assert dump(before) == snapshot
    assert dump(once) == once_snapshot


def test_rotation_key_id_is_per_node() -> None:
    """Asia's key 1 does not block Europe from listing a key 2, nor the reverse."""
    after = with_rotated_key(base(), AS, rkey(key(7, "ed25519:2"), from_seq=3))
    assert list(keys_of(after, AS)) == ["ed25519:1", "ed25519:2"]
    assert list(keys_of(after, EU)) == ["ed25519:1"]


def test_rotation_of_an_unknown_node() -> None:
    with pytest.raises(HealthnetError, match="not in the roster"):
        with_rotated_key(base(), NOBODY, rkey(EU_K2, from_seq=2))


def test_rotating_the_hub_key() -> None:
    """The hub signs the roster that lists its new key with the old key (at seq n), and
    the new key signs from n + 1."""
    hub2 = key(8, "ed25519:2")
    after = with_rotated_key(base(), HUB, rkey(hub2, from_seq=8))
    trust = Trust.from_roster(after, 3)
    roster_env = sealed(
        HUB_K,
        HUB,
        7,
        "sha256:" + "A" * 43,
        after.model_dump(mode="json", exclude_none=True),
        record_id="0b7e4d2a-1c3f-4e5a-8b6d-9f0e2a4c6b81",
        kind="roster",
        version=2,
        issued_at="2026-01-01T00:00:00Z",
    )
    verify_envelope(roster_env, trust.key_for(origin=HUB, key_id="ed25519:1", seq=7))
    trust.check_scope(roster_env["record"], roster_env["body"])
    accept(after, signed(hub2, HUB, 8))
    with pytest.raises(RevokedKey):
        accept(after, signed(HUB_K, HUB, 8))


def test_rotation_does_not_resurrect_a_revoked_key() -> None:
    revoked = with_revoked_key(base(), EU, "ed25519:1", last_good_seq=None)
    with pytest.raises(RevokedKey):
        accept(revoked, signed(EU_K1, EU, 10))
    after = with_rotated_key(revoked, EU, rkey(EU_K2, from_seq=50))
    assert not any(key_valid(keys_of(after, EU)["ed25519:1"], s) for s in range(1, 60))
    with pytest.raises(RevokedKey):
        accept(after, signed(EU_K1, EU, 10))


@pytest.mark.parametrize(("old_from", "new_from"), [(1, 1), (10, 5)])
def test_rotation_never_produces_an_invalid_roster(old_from: int, new_from: int) -> None:
    start = with_node(base(), rnode(EU, Region.EUROPE, [rkey(EU_K1, from_seq=old_from)]))
    try:
        after = with_rotated_key(start, EU, rkey(EU_K2, from_seq=new_from))
    except HealthnetError:
        return  # refusing is fine
    revalidated(after)


# --------------------------------------------------------------------------- with_revoked_key


@pytest.mark.parametrize("last_good", [1, 5, 41])
def test_revocation_keeps_records_up_to_last_good_seq(last_good: int) -> None:
    before = base()
    snapshot = dump(before)
    after = with_revoked_key(before, EU, "ed25519:1", last_good_seq=last_good)
    assert dump(before) == snapshot
    k = keys_of(after, EU)["ed25519:1"]
    assert (k.status, k.from_seq, k.until_seq) == (KeyStatus.REVOKED, 1, last_good)
    assert keys_of(before, EU)["ed25519:1"].status is KeyStatus.ACTIVE
    for seq in range(1, last_good + 1):
        accept(after, signed(EU_K1, EU, seq))
    for seq in (last_good + 1, last_good + 2, 10**6):
        with pytest.raises(RevokedKey):
            accept(after, signed(EU_K1, EU, seq))
    revalidated(after)


def test_revocation_without_last_good_seq_refuses_everything() -> None:
    before = base()
    snapshot = dump(before)
    after = with_revoked_key(before, EU, "ed25519:1", last_good_seq=None)
    assert dump(before) == snapshot
    k = keys_of(after, EU)["ed25519:1"]
    assert (k.status, k.until_seq) == (KeyStatus.REVOKED, None)
    for seq in (1, 2, 41, 10**6):
        with pytest.raises(RevokedKey):
            accept(after, signed(EU_K1, EU, seq))
    # the same survives the wire (exclude_none drops until_seq)
    wire = revalidated(after)
    assert not key_valid(keys_of(wire, EU)["ed25519:1"], 1)


def test_revocation_touches_only_that_key() -> None:
    rotated = with_rotated_key(base(), EU, rkey(EU_K2, from_seq=42))
    after = with_revoked_key(rotated, EU, "ed25519:1", last_good_seq=20)
    keys = keys_of(after, EU)
    assert keys["ed25519:2"] == keys_of(rotated, EU)["ed25519:2"]
    assert node_of(after, AS) == node_of(rotated, AS)
    accept(after, signed(EU_K1, EU, 20))
    with pytest.raises(RevokedKey):
        accept(after, signed(EU_K1, EU, 21))
    accept(after, signed(EU_K2, EU, 42))


def test_revoking_the_current_key_leaves_the_node_without_a_signer() -> None:
    rotated = with_rotated_key(base(), EU, rkey(EU_K2, from_seq=42))
    after = with_revoked_key(rotated, EU, "ed25519:2", last_good_seq=None)
    accept(after, signed(EU_K1, EU, 41))  # history by the old key stays good
    for signer in (EU_K1, EU_K2):
        with pytest.raises(RevokedKey):
            accept(after, signed(signer, EU, 42))


@pytest.mark.parametrize(("node_id", "key_id"), [(EU, "ed25519:2"), (NOBODY, "ed25519:1")])
def test_revoking_an_unknown_key(node_id: str, key_id: str) -> None:
    before = base()
    snapshot = dump(before)
    with pytest.raises(HealthnetError):
        with_revoked_key(before, node_id, key_id, last_good_seq=3)
    assert dump(before) == snapshot


def test_revoking_never_widens_a_keys_window() -> None:
    rotated = with_rotated_key(base(), EU, rkey(EU_K2, from_seq=42))
    after = with_revoked_key(rotated, EU, "ed25519:1", last_good_seq=100)
    with pytest.raises(RevokedKey):
        accept(after, signed(EU_K1, EU, 60))  # seq 60 belongs to key 2


# --------------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=5))
def test_after_any_rotations_exactly_one_key_signs_each_seq(steps: list[int]) -> None:
    """Rotations at increasing seqs: every seq has exactly one valid key, the newest key
    whose window has started; every input along the way is left untouched."""
    body = base()
    starts = [1]
    for i, step in enumerate(steps, start=2):
        starts.append(starts[-1] + step)
        snapshot = dump(body)
        new = RosterKey(
            key_id=f"ed25519:{i}", public_key=key(100 + i).public_b64, from_seq=starts[-1]
        )
        nxt = with_rotated_key(body, EU, new)
        assert dump(body) == snapshot
        body = nxt
    revalidated(body)
    keys = list(node_of(body, EU).keys)
    assert [k.from_seq for k in keys] == starts
    for seq in range(1, starts[-1] + 5):
        valid = [k.key_id for k in keys if key_valid(k, seq)]
        expected = max(i for i, s in enumerate(starts, start=1) if s <= seq)
        assert valid == [f"ed25519:{expected}"]


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("status"), st.sampled_from([EU, AS]), st.sampled_from(list(NodeStatus))),
        st.tuples(st.just("rotate"), st.sampled_from([EU, AS]), st.integers(1, 30)),
        st.tuples(st.just("revoke"), st.sampled_from([EU, AS]), st.none() | st.integers(1, 200)),
        st.tuples(st.just("node"), st.sampled_from([EU, AS, NEW]), st.sampled_from(list(Region))),
    ),
    max_size=8,
)


@settings(max_examples=80, deadline=None)
@given(OPS)
def test_no_edit_ever_mutates_its_input(ops: list[tuple[str, str, Any]]) -> None:
    body = base()
    next_key = 10
    for op, node_id, arg in ops:
        snapshot = dump(body)
        try:
            if op == "status":
                out = with_status(body, node_id, arg)
            elif op == "rotate":
                node = node_of(body, node_id)
                next_key += 1
                start = max(k.from_seq for k in node.keys) + arg
                out = with_rotated_key(
                    body,
                    node_id,
                    RosterKey(
                        key_id=f"ed25519:{next_key}",
                        public_key=key(next_key).public_b64,
                        from_seq=start,
                    ),
                )
            elif op == "revoke":
                node = node_of(body, node_id)
                out = with_revoked_key(body, node_id, node.keys[0].key_id, last_good_seq=arg)
            else:
                k = key({EU: 2, AS: 5, NEW: 6}[node_id])
                out = with_node(body, rnode(node_id, arg, [rkey(k)]))
        except (HealthnetError, ValueError):
            assert dump(body) == snapshot
            continue
        assert dump(body) == snapshot
        assert out is not body
        body = out
