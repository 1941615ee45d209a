"""seal / verify and the hash chain: what a sealed envelope holds, how headers link, and that
verify catches a change to any header field, the body or the signature."""

from __future__ import annotations

import base64
import copy
import hashlib
import re
from typing import Any

import pytest
from support import signing_fixtures
from support.signing_fixtures import BODY, OTHER_SEED, PREV, RECORD_ID, SEED, _seal

from federation.canonical import b64url, canonical_bytes, sha256_tag
from federation.errors import BadSignature, BodyMismatch, SignatureError
from federation.keys import SigningKey, from_seed, node_id_for
from federation.signing import (
    body_hash,
    check_body,
    header_hash,
    seal,
    verify_envelope,
    verify_header,
)
from schemas.record import Envelope, RecordHeader

# The fixed signing key (see support.signing_fixtures).
key = signing_fixtures.key


# --- seal ---------------------------------------------------------------------------------


def test_seal_does_not_mutate_the_body(key: SigningKey) -> None:
    body = copy.deepcopy(BODY)
    envelope = _seal(key, body)
    assert body == BODY
    assert envelope["body"] == BODY
    assert envelope["body"] is not body
    envelope["body"]["name"] = "changed"
    assert body["name"] == "Radboudumc"


def test_seal_builds_the_documented_header(key: SigningKey) -> None:
    envelope = _seal(key)
    assert set(envelope) == {"record", "body", "sig"}
    header = envelope["record"]
    assert list(header) == list(RecordHeader.model_fields)
    assert header == {
        "v": 1,
        "origin": node_id_for(key.public_raw),
        "seq": 7,
        "id": RECORD_ID,
        "kind": "member",
        "version": 3,
        "issued_at": "2025-03-14T09:26:53Z",
        "deleted": False,
        "body_hash": body_hash(BODY),
        "key_id": "ed25519:1",
        "prev": PREV,
    }
    assert re.fullmatch(r"[A-Za-z0-9_-]{86}", envelope["sig"])
    raw_sig = base64.urlsafe_b64decode(envelope["sig"] + "==")
    key.private.public_key().verify(raw_sig, canonical_bytes(header))


def test_seal_is_deterministic(key: SigningKey) -> None:
    assert _seal(key) == _seal(from_seed(SEED))


def test_tombstone(key: SigningKey) -> None:
    envelope = _seal(key, None)
    assert envelope["record"]["deleted"] is True
    assert envelope["record"]["body_hash"] is None
    assert envelope["body"] is None
    verify_envelope(envelope, key.private.public_key())
    Envelope.model_validate(envelope)


def test_stub_verifies_without_its_body(key: SigningKey) -> None:
    stub = {**_seal(key), "body": None}
    verify_envelope(stub, key.private.public_key())
    assert stub["record"]["deleted"] is False
    assert stub["record"]["body_hash"] is not None


def test_body_hash_covers_canonical_bytes_not_key_order(key: SigningKey) -> None:
    reordered = dict(reversed(list(BODY.items())))
    assert body_hash(reordered) == body_hash(BODY)
    envelope = {**_seal(key), "body": reordered}
    verify_envelope(envelope, key.private.public_key())


def test_seal_at_seq_1_has_no_prev(key: SigningKey) -> None:
    envelope = _seal(key, seq=1)
    assert envelope["record"]["prev"] is None
    verify_envelope(envelope, key.private.public_key())
    Envelope.model_validate(envelope)


def test_seal_requires_prev(key: SigningKey) -> None:
    args = {
        "key": key,
        "origin": node_id_for(key.public_raw),
        "seq": 1,
        "record_id": RECORD_ID,
        "kind": "member",
        "version": 1,
        "issued_at": "2025-03-14T09:26:53Z",
        "body": BODY,
    }
    with pytest.raises(TypeError):
        seal(**args)  # no default: a caller must decide where its chain stands


# --- the hash chain -----------------------------------------------------------------------


def test_header_hash_is_sha256_of_the_canonical_header(key: SigningKey) -> None:
    header = _seal(key)["record"]
    digest = hashlib.sha256(canonical_bytes(header)).digest()
    assert header_hash(header) == "sha256:" + b64url(digest)
    assert re.fullmatch(r"sha256:[A-Za-z0-9_-]{43}", header_hash(header))
    assert header_hash(dict(reversed(list(header.items())))) == header_hash(header)


def test_header_hash_covers_every_header_field(key: SigningKey) -> None:
    header = _seal(key)["record"]
    hashes = {header_hash({**header, field: HEADER_CHANGES[field]}) for field in header}
    assert header_hash(header) not in hashes
    assert len(hashes) == len(header)


def _chain(key: SigningKey, length: int) -> list[dict[str, Any]]:
    envelopes: list[dict[str, Any]] = []
    for seq in range(1, length + 1):
        prev = header_hash(envelopes[-1]["record"]) if envelopes else None
        body = None if seq == length else {**BODY, "name": f"Radboudumc {seq}"}
        envelopes.append(_seal(key, body, seq=seq, version=seq, prev=prev))
    return envelopes


def _links_hold(headers: list[dict[str, Any]]) -> bool:
    pairs = zip(headers, headers[1:], strict=False)
    return all(after["prev"] == header_hash(before) for before, after in pairs)


def test_a_sealed_chain_verifies_link_by_link(key: SigningKey) -> None:
    envelopes = _chain(key, 5)
    public = key.private.public_key()
    for envelope in envelopes:
        verify_envelope(envelope, public)
        Envelope.model_validate(envelope)
    headers = [envelope["record"] for envelope in envelopes]
    assert headers[0]["prev"] is None
    assert _links_hold(headers)
    # A stub keeps its header, so the chain through it still verifies.
    stubbed = [{**envelope, "body": None} for envelope in envelopes]
    assert _links_hold([envelope["record"] for envelope in stubbed])


def test_dropping_or_reordering_records_breaks_the_chain(key: SigningKey) -> None:
    headers = [envelope["record"] for envelope in _chain(key, 5)]
    assert not _links_hold(headers[:2] + headers[3:])  # seq 3 dropped
    assert not _links_hold([headers[0], headers[2], headers[1], *headers[3:]])  # 2 and 3 swapped


def test_a_second_header_for_the_same_seq_breaks_the_chain(key: SigningKey) -> None:
    headers = [envelope["record"] for envelope in _chain(key, 3)]
    other = _seal(
        key, {**BODY, "name": "Equivocated"}, seq=2, version=2, prev=header_hash(headers[0])
    )
    # Both link to seq 1 and both are validly signed: two headers for (origin, 2).
    assert _links_hold([headers[0], other["record"]])
    assert header_hash(other["record"]) != header_hash(headers[1])
    # But seq 3 commits to exactly one of them.
    assert not _links_hold([headers[0], other["record"], headers[2]])


# --- verify: every header field is covered ------------------------------------------------

OTHER_ORIGIN = node_id_for(from_seed(OTHER_SEED).public_raw)
HEADER_CHANGES: dict[str, Any] = {
    "v": 2,
    "origin": OTHER_ORIGIN,
    "seq": 8,
    "id": "3f2b8c1e-7d4a-4e6b-9c15-2a8e6f0d4b72",
    "kind": "event",
    "version": 4,
    "issued_at": "2025-03-14T09:26:54Z",
    "deleted": True,
    "body_hash": "sha256:" + b64url(hashlib.sha256(b"another body").digest()),
    "key_id": "ed25519:2",
    "prev": sha256_tag(b"another header at seq 6"),
}


def test_header_changes_cover_every_header_field() -> None:
    assert set(HEADER_CHANGES) == set(RecordHeader.model_fields)


@pytest.mark.parametrize("field", sorted(HEADER_CHANGES))
def test_verify_fails_on_any_single_header_field_change(key: SigningKey, field: str) -> None:
    envelope = _seal(key)
    public = key.private.public_key()
    verify_header(envelope["record"], envelope["sig"], public)
    tampered = {**envelope, "record": {**envelope["record"], field: HEADER_CHANGES[field]}}
    assert tampered["record"][field] != envelope["record"][field]
    with pytest.raises(BadSignature) as info:
        verify_envelope(tampered, public)
    assert info.value.origin == str(tampered["record"]["origin"])
    assert info.value.key_id == str(tampered["record"]["key_id"])


@pytest.mark.parametrize("field", sorted(HEADER_CHANGES))
def test_verify_fails_when_a_header_field_is_dropped(key: SigningKey, field: str) -> None:
    envelope = _seal(key)
    header = {k: v for k, v in envelope["record"].items() if k != field}
    with pytest.raises(BadSignature):
        verify_header(header, envelope["sig"], key.private.public_key())


def test_verify_fails_when_a_header_field_is_added(key: SigningKey) -> None:
    envelope = _seal(key)
    header = {**envelope["record"], "note": "unsigned"}
    with pytest.raises(BadSignature):
        verify_header(header, envelope["sig"], key.private.public_key())


def test_verify_fails_on_a_json_type_change(key: SigningKey) -> None:
    envelope = _seal(key)
    header = {**envelope["record"], "seq": "7"}
    with pytest.raises(BadSignature):
        verify_header(header, envelope["sig"], key.private.public_key())


def test_key_id_mismatch_signed_by_another_key_fails(key: SigningKey) -> None:
    # Claims the origin's key id, but the private key behind the signature is another one.
    impostor = from_seed(OTHER_SEED, key_id=key.key_id)
    envelope = _seal(impostor, origin=node_id_for(key.public_raw))
    assert envelope["record"]["key_id"] == key.key_id
    with pytest.raises(BadSignature) as info:
        verify_envelope(envelope, key.private.public_key())
    assert "ed25519:1" in str(info.value)
    assert node_id_for(key.public_raw) in str(info.value)


def test_body_change_is_a_body_mismatch_not_a_bad_signature(key: SigningKey) -> None:
    envelope = _seal(key)
    envelope["body"] = {**envelope["body"], "city": "Arnhem"}
    with pytest.raises(BodyMismatch):
        verify_envelope(envelope, key.private.public_key())


def test_body_attached_to_a_tombstone_is_rejected(key: SigningKey) -> None:
    with pytest.raises(BodyMismatch):
        check_body(_seal(key, None)["record"], BODY)


@pytest.mark.parametrize(
    "sig",
    ["", "A" * 86 + "==", "A" * 85, "A" * 84, "A" * 88, "+" * 86, "A" * 85 + "B"],
    ids=["empty", "padded", "85", "84-63-bytes", "88-66-bytes", "std-alphabet", "trailing-bits"],
)
def test_malformed_signature_is_a_bad_signature(key: SigningKey, sig: str) -> None:
    envelope = {**_seal(key), "sig": sig}
    with pytest.raises(BadSignature):
        verify_envelope(envelope, key.private.public_key())


def test_body_on_a_deleted_record_is_rejected_even_if_the_hash_matches(
    key: SigningKey,
) -> None:
    header = {**_seal(key)["record"], "deleted": True}
    sig = b64url(key.sign(canonical_bytes(header)))
    with pytest.raises(SignatureError):
        verify_envelope({"record": header, "body": BODY, "sig": sig}, key.private.public_key())
