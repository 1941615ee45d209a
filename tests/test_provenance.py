"""federation.provenance: the one read-time check that FHIR and the web pages share.

Every status and standing is reached from real signed envelopes; nothing is mocked.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.envelopes import sealed
from support.factories import member_body
from support.rosters import key, rkey, rnode

from federation.canonical import b64url, canonical_bytes
from federation.keys import node_id_for
from federation.provenance import Check, KeyRing, Standing, Status, check
from federation.trust import Trust
from schemas.geo import Region
from schemas.roster import KeyStatus, NodeStatus

HUB_KEY = key(1)
EU_KEY = key(2)
EU_NEXT = key(3, "ed25519:2")
HUB = node_id_for(HUB_KEY.public_raw)
EU = node_id_for(EU_KEY.public_raw)


def texts(env: dict[str, Any]) -> dict[str, Any]:
    """What the store keeps of an envelope: canonical header and body texts, and the sig."""
    body = env["body"]
    return {
        "header_text": canonical_bytes(env["record"]).decode(),
        "sig": env["sig"],
        "body_text": None if body is None else canonical_bytes(body).decode(),
    }


def eu_record(seq: int = 1, signer: Any = EU_KEY) -> dict[str, Any]:
    body = member_body(region=Region.EUROPE.value)
    return sealed(signer, EU, seq, None, body)


def trust(eu_status: NodeStatus = NodeStatus.ACTIVE, **key_window: Any) -> Trust:
    hub = rnode(HUB, Region.NORTH_AMERICA, [rkey(HUB_KEY)])
    eu = rnode(EU, Region.EUROPE, [rkey(EU_KEY, **key_window)], status=eu_status)
    return Trust(HUB, {HUB: hub, EU: eu}, 3)


def ring_at_hub(t: Trust | None) -> KeyRing:
    return KeyRing(own=(HUB, HUB_KEY.key_id, HUB_KEY.public_b64), trust=t)


def run(env: dict[str, Any], t: Trust | None) -> Check:
    return check(ring_at_hub(t), **texts(env))


def test_a_record_of_an_active_origin_verifies() -> None:
    result = run(eu_record(), trust())
    assert (result.status, result.standing, result.reason) == (Status.VERIFIED, Standing.ACTIVE, "")
    assert (result.origin, result.key_id, result.seq) == (EU, "ed25519:1", 1)
    assert result.ok


def test_a_suspended_origin_still_verifies_and_says_it_is_suspended() -> None:
    # Suspension stops new records; it does not undo what the origin signed while active.
    result = run(eu_record(), trust(NodeStatus.SUSPENDED))
    assert (result.status, result.standing) == (Status.VERIFIED, Standing.SUSPENDED)


def test_a_revoked_origin_reports_revoked() -> None:
    result = run(eu_record(), trust(NodeStatus.REVOKED))
    assert (result.status, result.standing) == (Status.VERIFIED, Standing.REVOKED)


def test_no_roster_no_key_is_unverifiable() -> None:
    result = run(eu_record(), None)
    assert (result.status, result.standing) == (Status.UNVERIFIABLE, Standing.UNLISTED)
    assert EU in result.reason and "ed25519:1" in result.reason


def test_a_standalone_nodes_own_record_verifies_with_its_own_key() -> None:
    own = sealed(HUB_KEY, HUB, 1, None, member_body())
    result = run(own, None)
    assert (result.status, result.standing) == (Status.VERIFIED, Standing.ACTIVE)


def test_an_unlisted_key_id_is_unverifiable() -> None:
    result = run(eu_record(signer=EU_NEXT), trust())
    assert result.status is Status.UNVERIFIABLE


@pytest.mark.parametrize(
    ("seq", "window", "status"),
    [
        (5, {"from_seq": 5}, Status.VERIFIED),  # first seq of the window
        (4, {"from_seq": 5}, Status.FAILED),  # before it
        (9, {"until_seq": 9, "status": KeyStatus.REVOKED}, Status.VERIFIED),  # last seq
        (10, {"until_seq": 9, "status": KeyStatus.REVOKED}, Status.FAILED),  # after it
        (1, {"status": KeyStatus.REVOKED}, Status.FAILED),  # revoked, no window kept
    ],
)
def test_the_key_window_decides_by_sequence_number(
    seq: int, window: dict[str, Any], status: Status
) -> None:
    result = run(eu_record(seq), trust(**window))
    assert result.status is status
    if status is Status.FAILED:
        assert f"not valid for seq {seq}" in result.reason


def test_a_forged_signature_fails() -> None:
    forged = eu_record(signer=key(9))  # key id ed25519:1, but not EU's key
    result = run(forged, trust())
    assert result.status is Status.FAILED
    assert "signature" in result.reason


def test_a_tampered_header_fails() -> None:
    stored = texts(eu_record())
    stored["header_text"] = stored["header_text"].replace('"version":1', '"version":2')
    result = check(ring_at_hub(trust()), **stored)
    assert result.status is Status.FAILED


def test_a_tampered_body_fails_on_its_hash() -> None:
    stored = texts(eu_record())
    stored["body_text"] = stored["body_text"].replace("Radboud", "Radbout")
    result = check(ring_at_hub(trust()), **stored)
    assert (result.status, result.reason) == (
        Status.FAILED,
        "the stored body does not match the signed body_hash",
    )


def test_a_stub_has_no_body_and_its_header_still_verifies() -> None:
    stored = texts(eu_record()) | {"body_text": None}
    assert check(ring_at_hub(trust()), **stored).status is Status.VERIFIED


def test_a_garbled_sig_fails_rather_than_raising() -> None:
    stored = texts(eu_record()) | {"sig": "not base64url!"}
    assert check(ring_at_hub(trust()), **stored).status is Status.FAILED
    stored["sig"] = b64url(b"\x00" * 64)
    assert check(ring_at_hub(trust()), **stored).status is Status.FAILED


@pytest.mark.parametrize("header_text", ["", "[]", "{", '{"origin": 5, "seq": "x"}'])
def test_an_unreadable_header_is_unverifiable_rather_than_raising(header_text: str) -> None:
    result = check(ring_at_hub(trust()), header_text=header_text, sig="", body_text=None)
    assert result.status is Status.UNVERIFIABLE
    assert result.seq == 0
