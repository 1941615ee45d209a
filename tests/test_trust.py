"""federation.trust: which key may sign which record, per the roster (what each origin may
publish: test_trust_scope). Pure: no DB, no HTTP.

Every envelope here is really signed (``federation.signing.seal`` with keys from fixed
seeds) and verified with ``verify_envelope`` against the key that ``Trust`` hands out, so a
test shows both what Trust refuses and that what it accepts actually verifies. The test
network is in tests/support/trust_network.py.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given
from hypothesis import strategies as st
from support.rosters import receive, rnode
from support.trust_network import (
    AF,
    AS,
    AS_K1,
    EU,
    EU_K1,
    EU_K2,
    HUB,
    HUB_K1,
    NOBODY,
    OC,
    SA,
    SIGNERS,
    STRANGER,
    TRUST,
    XX,
    envelope,
    member,
    roster,
)

from federation.errors import (
    BadSignature,
    OutOfScope,
    RevokedKey,
    SignatureError,
    UnknownKey,
    WireFormatError,
)
from federation.keys import SigningKey
from federation.signing import verify_envelope
from federation.trust import Trust, key_valid
from schemas.geo import Region
from schemas.roster import KeyStatus, RosterBody, RosterKey


def raw(public: Any) -> bytes:
    return bytes(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


# --------------------------------------------------------------------------- key_for: accepted

ACCEPTED = [
    (HUB, "ed25519:1", 1),
    (HUB, "ed25519:1", 10**9),
    (EU, "ed25519:1", 1),
    (EU, "ed25519:1", 41),  # last seq before the rotation
    (EU, "ed25519:2", 42),  # first seq of the new key
    (EU, "ed25519:2", 5000),
    (AS, "ed25519:1", 3),
    (AF, "ed25519:1", 1),
    (AF, "ed25519:1", 10),  # revoked key, up to its last good seq
    (AF, "ed25519:2", 11),
    (OC, "ed25519:2", 5),
    (OC, "ed25519:2", 6),
]


@pytest.mark.parametrize(("origin", "key_id", "seq"), ACCEPTED)
def test_key_for_returns_the_listed_key_and_its_signatures_verify(
    origin: str, key_id: str, seq: int
) -> None:
    signer = SIGNERS[(origin, key_id)]
    public = TRUST.key_for(origin=origin, key_id=key_id, seq=seq)
    assert raw(public) == signer.public_raw
    env = envelope(signer, origin=origin, seq=seq)
    verify_envelope(env, public)


# --------------------------------------------------------------------------- key_for: refused

REFUSED = [
    # 1. origin not in the roster
    pytest.param(NOBODY, "ed25519:1", 1, UnknownKey, id="unknown-origin"),
    pytest.param(NOBODY, "ed25519:999", 0, UnknownKey, id="unknown-origin-before-anything"),
    # 2. origin not active
    pytest.param(SA, "ed25519:1", 1, OutOfScope, id="suspended-node"),
    pytest.param(XX, "ed25519:1", 1, OutOfScope, id="revoked-node"),
    pytest.param(SA, "ed25519:7", 1, OutOfScope, id="suspended-before-key-lookup"),
    pytest.param(XX, "ed25519:1", 10**6, OutOfScope, id="revoked-node-before-window"),
    # 3. key id not listed for that origin
    pytest.param(EU, "ed25519:3", 1, UnknownKey, id="unlisted-key-id"),
    pytest.param(AS, "ed25519:2", 50, UnknownKey, id="key-id-of-another-node"),
    pytest.param(HUB, "ed25519:2", 50, UnknownKey, id="key-id-of-another-node-hub"),
    pytest.param(EU, "ed25519:9", 10**6, UnknownKey, id="key-lookup-before-window"),
    # 4. seq outside the key's window
    pytest.param(EU, "ed25519:1", 42, RevokedKey, id="rotated-key-after-rotation"),
    pytest.param(EU, "ed25519:1", 10**6, RevokedKey, id="rotated-key-long-after"),
    pytest.param(EU, "ed25519:2", 41, RevokedKey, id="new-key-before-its-first-seq"),
    pytest.param(EU, "ed25519:2", 1, RevokedKey, id="new-key-at-seq-1"),
    pytest.param(AF, "ed25519:1", 11, RevokedKey, id="revoked-key-after-last-good"),
    pytest.param(AF, "ed25519:2", 10, RevokedKey, id="successor-before-from-seq"),
    pytest.param(OC, "ed25519:1", 1, RevokedKey, id="revoked-no-good-seq-1"),
    pytest.param(OC, "ed25519:1", 4, RevokedKey, id="revoked-no-good-seq-4"),
    pytest.param(OC, "ed25519:1", 5, RevokedKey, id="revoked-no-good-seq-5"),
    pytest.param(OC, "ed25519:2", 4, RevokedKey, id="oc-new-key-too-early"),
]


@pytest.mark.parametrize(("origin", "key_id", "seq", "error"), REFUSED)
def test_key_for_refuses(origin: str, key_id: str, seq: int, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        TRUST.key_for(origin=origin, key_id=key_id, seq=seq)
    assert type(info.value) is error  # exactly that class, not a sibling
    assert info.value.origin == origin


@pytest.mark.parametrize(("origin", "key_id", "seq", "error"), REFUSED)
def test_refused_records_never_reach_the_signature(
    origin: str, key_id: str, seq: int, error: type[Exception]
) -> None:
    """A correctly signed record is refused by the key lookup alone (check order)."""
    signer = SIGNERS.get((origin, key_id), STRANGER)
    signer = SigningKey(key_id, signer.private)
    env = envelope(signer, origin=origin, seq=max(seq, 1))
    with pytest.raises(error):
        receive(TRUST, env)


def test_errors_name_origin_and_key_id() -> None:
    with pytest.raises(RevokedKey) as revoked:
        TRUST.key_for(origin=EU, key_id="ed25519:1", seq=42)
    assert (revoked.value.origin, revoked.value.key_id) == (EU, "ed25519:1")
    assert "42" in str(revoked.value)
    with pytest.raises(UnknownKey) as unknown:
        TRUST.key_for(origin=AS, key_id="ed25519:2", seq=1)
    assert (unknown.value.origin, unknown.value.key_id) == (AS, "ed25519:2")
    with pytest.raises(OutOfScope) as scope:
        TRUST.key_for(origin=SA, key_id="ed25519:1", seq=1)
    assert "suspended" in str(scope.value)
    with pytest.raises(OutOfScope) as gone:
        TRUST.key_for(origin=XX, key_id="ed25519:1", seq=1)
    assert "revoked" in str(gone.value)


def test_all_refusals_are_signature_errors() -> None:
    for origin, key_id, seq in [(NOBODY, "ed25519:1", 1), (SA, "ed25519:1", 1)]:
        with pytest.raises(SignatureError):
            TRUST.key_for(origin=origin, key_id=key_id, seq=seq)


# ------------------------------------------------------- another node's key under this origin


def test_another_nodes_key_under_this_origin_is_a_bad_signature() -> None:
    """Asia signs a record claiming to be Europe's, under a key id Europe lists."""
    forged = envelope(SigningKey("ed25519:2", AS_K1.private), origin=EU, seq=50)
    public = TRUST.key_for(origin=EU, key_id="ed25519:2", seq=50)
    assert raw(public) == EU_K2.public_raw  # the roster's key, never the record's
    with pytest.raises(BadSignature):
        verify_envelope(forged, public)
    with pytest.raises(BadSignature):
        receive(TRUST, forged)


def test_hub_key_does_not_sign_for_a_regional_node() -> None:
    forged = envelope(HUB_K1, origin=EU, seq=3)
    with pytest.raises(BadSignature):
        receive(TRUST, forged)


def test_rotated_out_key_presented_under_the_new_key_id_is_a_bad_signature() -> None:
    """Europe's old key signs seq 50 but claims key 2: the window check passes, the
    signature does not."""
    forged = envelope(SigningKey("ed25519:2", EU_K1.private), origin=EU, seq=50)
    with pytest.raises(BadSignature):
        receive(TRUST, forged)
    # and under its own id it is refused before the signature is looked at
    old = envelope(EU_K1, origin=EU, seq=50)
    with pytest.raises(RevokedKey):
        receive(TRUST, old)


def test_key_id_of_another_node_with_that_nodes_key_is_unknown() -> None:
    """Europe's key 2 (a real, listed key) signing a record of Asia: Asia has no key 2."""
    forged = envelope(EU_K2, origin=AS, seq=50, body=member(Region.ASIA))
    with pytest.raises(UnknownKey):
        receive(TRUST, forged)


def test_a_stranger_signing_under_a_listed_origin_is_a_bad_signature() -> None:
    forged = envelope(STRANGER, origin=AS, seq=2, body=member(Region.ASIA))
    with pytest.raises(BadSignature):
        receive(TRUST, forged)


def test_changing_the_origin_of_a_signed_record_breaks_it() -> None:
    env = envelope(AS_K1, origin=AS, seq=2, body=member(Region.ASIA))
    receive(TRUST, env)
    moved = {**env, "record": {**env["record"], "origin": EU}}
    with pytest.raises(BadSignature):
        receive(TRUST, moved)


# --------------------------------------------------------------------------- key_valid


def test_key_valid_examples() -> None:
    active = RosterKey(key_id="ed25519:1", public_key=EU_K1.public_b64, from_seq=3)
    assert [key_valid(active, s) for s in (1, 2, 3, 4, 10**12)] == [False, False, True, True, True]
    rotated = active.model_copy(update={"until_seq": 5})
    assert [key_valid(rotated, s) for s in (2, 3, 5, 6)] == [False, True, True, False]
    revoked_upto = rotated.model_copy(update={"status": KeyStatus.REVOKED})
    assert [key_valid(revoked_upto, s) for s in (2, 3, 5, 6)] == [False, True, True, False]
    revoked_none = active.model_copy(update={"status": KeyStatus.REVOKED})
    assert not any(key_valid(revoked_none, s) for s in (1, 2, 3, 4, 100, 10**12))
    empty = RosterKey(key_id="ed25519:1", public_key=EU_K1.public_b64, from_seq=3, until_seq=2)
    assert not any(key_valid(empty, s) for s in (1, 2, 3, 4))


WINDOWS = st.integers(1, 1000).flatmap(
    lambda f: st.tuples(
        st.just(f),
        st.none() | st.integers(max(f - 1, 1), f + 1000),
        st.sampled_from(list(KeyStatus)),
    )
)


def _key(window: tuple[int, int | None, KeyStatus]) -> RosterKey:
    f, u, status = window
    return RosterKey(
        key_id="ed25519:1", public_key=EU_K1.public_b64, from_seq=f, until_seq=u, status=status
    )


@given(WINDOWS, st.integers(1, 3000))
def test_key_valid_is_the_documented_window(
    window: tuple[int, int | None, KeyStatus], seq: int
) -> None:
    f, u, status = window
    k = _key(window)
    if u is not None:
        expected = f <= seq <= u  # an explicit end holds whatever the status
    else:
        expected = seq >= f and status is KeyStatus.ACTIVE
    assert key_valid(k, seq) is expected


@given(WINDOWS, st.integers(1, 3000), st.integers(1, 3000))
def test_key_valid_window_is_contiguous(
    window: tuple[int, int | None, KeyStatus], a: int, b: int
) -> None:
    """Valid at two seqs means valid at every seq in between (no holes)."""
    k = _key(window)
    lo, hi = sorted((a, b))
    if key_valid(k, lo) and key_valid(k, hi):
        assert all(key_valid(k, s) for s in range(lo, hi + 1))


@given(WINDOWS, st.integers(1, 3000))
def test_revoking_never_widens_validity(
    window: tuple[int, int | None, KeyStatus], seq: int
) -> None:
    k = _key(window)
    revoked = k.model_copy(update={"status": KeyStatus.REVOKED})
    assert not (key_valid(revoked, seq) and not key_valid(k, seq))
    assert key_valid(revoked, seq) <= key_valid(k, seq)


@given(st.integers(1, 1000), st.integers(1, 3000))
def test_key_valid_before_from_seq_is_always_false(from_seq: int, seq: int) -> None:
    for status in KeyStatus:
        for until in (None, from_seq + 5):
            k = RosterKey(
                key_id="ed25519:1",
                public_key=EU_K1.public_b64,
                from_seq=from_seq,
                until_seq=until,
                status=status,
            )
            if seq < from_seq:
                assert not key_valid(k, seq)


@given(st.integers(1, 500), st.integers(0, 500), st.integers(1, 2000))
def test_key_for_agrees_with_key_valid(from_seq: int, span: int, seq: int) -> None:
    until = from_seq - 1 + span if span else None
    k = RosterKey(
        key_id="ed25519:1", public_key=AS_K1.public_b64, from_seq=from_seq, until_seq=until
    )
    trust = Trust.from_roster(RosterBody(hub=AS, nodes=[rnode(AS, Region.ASIA, [k])]), version=1)
    if key_valid(k, seq):
        assert raw(trust.key_for(origin=AS, key_id="ed25519:1", seq=seq)) == AS_K1.public_raw
    else:
        with pytest.raises(RevokedKey):
            trust.key_for(origin=AS, key_id="ed25519:1", seq=seq)


# --------------------------------------------------------------------------- from_roster / pinned


def test_from_roster_maps_every_node() -> None:
    body = roster()
    trust = Trust.from_roster(body, 7)
    assert trust.hub == HUB
    assert trust.version == 7
    assert set(trust.nodes) == {n.node_id for n in body.nodes}
    for n in body.nodes:
        assert trust.node(n.node_id) == n
    with pytest.raises(UnknownKey):
        trust.node(NOBODY)


def test_trust_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        TRUST.hub = EU  # type: ignore[misc]


def test_from_roster_after_wire_round_trip_behaves_the_same() -> None:
    body = RosterBody.model_validate(roster().model_dump(mode="json", exclude_none=True))
    trust = Trust.from_roster(body, 8)
    for origin, key_id, seq in ACCEPTED:
        assert raw(trust.key_for(origin=origin, key_id=key_id, seq=seq)) == raw(
            TRUST.key_for(origin=origin, key_id=key_id, seq=seq)
        )
    for origin, key_id, seq, error in (p.values for p in REFUSED):
        with pytest.raises(error):
            trust.key_for(origin=origin, key_id=key_id, seq=seq)


def test_pinned_trusts_only_the_hub_key() -> None:
    trust = Trust.pinned(HUB_K1.public_b64, hub_url="http://hub.test")
    assert trust.hub == HUB
    assert trust.version == 0
    assert list(trust.nodes) == [HUB]
    node = trust.node(HUB)
    assert node.url == "http://hub.test"
    assert node.region is Region.NORTH_AMERICA
    assert [(k.key_id, k.public_key, k.from_seq, k.until_seq) for k in node.keys] == [
        ("ed25519:1", HUB_K1.public_b64, 1, None)
    ]
    public = trust.key_for(origin=HUB, key_id="ed25519:1", seq=1)
    assert raw(public) == HUB_K1.public_raw
    roster_env = envelope(HUB_K1, origin=HUB, seq=1, kind="roster", body={"hub": HUB})
    receive(trust, roster_env)
    # nothing else: not the hub's next key, not any other node
    with pytest.raises(UnknownKey):
        trust.key_for(origin=HUB, key_id="ed25519:2", seq=2)
    with pytest.raises(UnknownKey):
        trust.key_for(origin=EU, key_id="ed25519:1", seq=1)


def test_pinned_default_url_and_other_key_gives_other_hub() -> None:
    trust = Trust.pinned(EU_K1.public_b64)
    assert trust.hub == EU
    assert trust.node(EU).url == "http://hub.invalid"
    forged = envelope(HUB_K1, origin=EU, seq=1, kind="roster", body={"hub": EU})
    with pytest.raises(BadSignature):
        receive(trust, forged)


@pytest.mark.parametrize("bad", ["", "not base64!", HUB_K1.public_b64 + "=", "AAAA"])
def test_pinned_rejects_a_malformed_key(bad: str) -> None:
    with pytest.raises((WireFormatError, ValueError)):
        Trust.pinned(bad)
