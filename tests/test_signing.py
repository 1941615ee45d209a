"""seal / verify, key handling and the envelope schema."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from support.envelopes import sealed

from federation.canonical import b64url, canonical_bytes, sha256_tag
from federation.errors import BadSignature, BodyMismatch, SignatureError, WireFormatError
from federation.keys import (
    SigningKey,
    from_pem,
    from_seed,
    generate,
    node_id_for,
    public_key,
    to_pem,
)
from federation.signing import (
    body_hash,
    check_body,
    header_hash,
    seal,
    verify_envelope,
    verify_header,
)
from schemas.record import MAX_SAFE_INTEGER, Envelope, RecordHeader

SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
OTHER_SEED = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
RECORD_ID = "3f2b8c1e-7d4a-4e6b-9c15-2a8e6f0d4b71"
BODY: dict[str, Any] = {
    "name": "Radboudumc",
    "kind": "academic-medical-centre",
    "region": "europe",
    "country": "NL",
    "city": "Nijmegen",
    "social": [{"platform": "x", "handle": "@radboudumc"}],
    "topics": ["digital health"],
    "description": "Nijmegen – Gelderland",
}
# The link to a (made-up) record at seq 6, for the records at seq 7 that most tests seal.
PREV = sha256_tag(b"the canonical header at seq 6")


@pytest.fixture
def key() -> SigningKey:
    return from_seed(SEED)


def _seal(key: SigningKey, body: dict[str, Any] | None = BODY, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "origin": node_id_for(key.public_raw),
        "seq": 7,
        "record_id": RECORD_ID,
        "kind": "member",
        "version": 3,
        "issued_at": "2025-03-14T09:26:53Z",
        "prev": PREV,
    }
    args.update(kw)
    if args["seq"] == 1 and "prev" not in kw:
        args["prev"] = None
    origin, seq, prev = args.pop("origin"), args.pop("seq"), args.pop("prev")
    return sealed(key, origin, seq, prev, body, **args)


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
    other = _seal(key, {**BODY, "name": "Equivocated"}, seq=2, version=2,
                  prev=header_hash(headers[0]))
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


# --- keys -------------------------------------------------------------------------------


@given(st.binary(min_size=32, max_size=32))
def test_node_id_format(raw: bytes) -> None:
    node_id = node_id_for(raw)
    assert re.fullmatch(r"hn-[a-z2-7]{24}", node_id)
    expected = base64.b32encode(hashlib.sha256(raw).digest()[:15]).decode().lower()
    assert node_id == "hn-" + expected


def test_node_id_differs_per_key() -> None:
    assert node_id_for(from_seed(SEED).public_raw) != node_id_for(from_seed(OTHER_SEED).public_raw)


def test_signing_key_repr_hides_the_private_key(key: SigningKey) -> None:
    private_raw = key.private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    assert private_raw == SEED
    forms = [
        private_raw.hex(),
        private_raw.hex().upper(),
        b64url(private_raw),
        base64.b64encode(private_raw).decode(),
        repr(private_raw),
    ]
    assert "ed25519:1" in repr(key)
    for text in (repr(key), str(key), repr([key]), f"{key}"):
        for form in forms:
            assert form not in text
        # No long run of the seed either (a truncated or partial dump).
        assert private_raw.hex()[:16] not in text


def test_pem_round_trip(key: SigningKey) -> None:
    pem = to_pem(key)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = from_pem(pem, "ed25519:5")
    assert loaded.key_id == "ed25519:5"
    assert loaded.public_raw == key.public_raw
    assert loaded.sign(b"message") == key.sign(b"message")


def test_pem_round_trip_of_a_generated_key() -> None:
    key = generate("ed25519:2")
    loaded = from_pem(to_pem(key), key.key_id)
    assert loaded.public_b64 == key.public_b64 and loaded.key_id == "ed25519:2"


def test_from_pem_rejects_a_non_ed25519_key() -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(WireFormatError):
        from_pem(pem, "ed25519:1")


def test_public_key_parses_its_own_encoding(key: SigningKey) -> None:
    parsed = public_key(key.public_b64)
    signature = key.sign(b"message")
    parsed.verify(signature, b"message")


@pytest.mark.parametrize(
    "text",
    [
        b64url(bytes(31)),
        b64url(bytes(33)),
        "",
        b64url(bytes(64)),
    ],
    ids=["31-bytes", "33-bytes", "empty", "64-bytes"],
)
def test_public_key_rejects_wrong_length(text: str) -> None:
    with pytest.raises(WireFormatError) as info:
        public_key(text, field="roster.keys[0].public")
    assert info.value.field == "roster.keys[0].public"
    assert "roster.keys[0].public" in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURp",
        "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHU o",
    ],
    ids=["padded", "slash", "trailing-bits", "space"],
)
def test_public_key_rejects_bad_base64url(text: str) -> None:
    with pytest.raises(WireFormatError) as info:
        public_key(text, field="nodes[2].public_key")
    assert info.value.field == "nodes[2].public_key"


def test_public_key_default_field_name() -> None:
    with pytest.raises(WireFormatError) as info:
        public_key(b64url(bytes(31)))
    assert info.value.field == "public_key"


# --- the envelope schema ------------------------------------------------------------------


def test_envelope_parses_a_sealed_envelope(key: SigningKey) -> None:
    envelope = _seal(key)
    parsed = Envelope.model_validate(envelope)
    assert parsed.record.model_dump() == envelope["record"]
    assert parsed.body == BODY and parsed.sig == envelope["sig"]
    from_json = Envelope.model_validate_json(json.dumps(envelope))
    assert from_json == parsed


def test_envelope_parses_tombstone_and_stub(key: SigningKey) -> None:
    Envelope.model_validate(_seal(key, None))
    Envelope.model_validate({**_seal(key), "body": None})


def _with(envelope: dict[str, Any], **header: Any) -> dict[str, Any]:
    return {**envelope, "record": {**envelope["record"], **header}}


@pytest.mark.parametrize(
    "change",
    [
        lambda e: {**e, "extra": 1},
        lambda e: {**e, "record": {**e["record"], "extra": 1}},
        lambda e: {k: v for k, v in e.items() if k != "body"},
        lambda e: {k: v for k, v in e.items() if k != "sig"},
        lambda e: _with(e, seq="5"),
        lambda e: _with(e, seq=0),
        lambda e: _with(e, seq=2**53),
        lambda e: _with(e, seq=5.0),
        lambda e: _with(e, seq=True),
        lambda e: _with(e, version=0),
        lambda e: _with(e, deleted="false"),
        lambda e: _with(e, kind="organization"),
        lambda e: _with(e, id=RECORD_ID.upper()),
        lambda e: _with(e, origin="hn-" + "A" * 24),
        lambda e: _with(e, issued_at="2025-03-14T09:26:53+00:00"),
        lambda e: _with(e, key_id="ed25519:0"),
        lambda e: _with(e, body_hash="sha256:" + "A" * 42),
        lambda e: {**e, "sig": e["sig"] + "=="},
    ],
    ids=[
        "extra-envelope-field",
        "extra-header-field",
        "missing-body",
        "missing-sig",
        "seq-string",
        "seq-0",
        "seq-2**53",
        "seq-float",
        "seq-bool",
        "version-0",
        "deleted-string",
        "kind-unknown",
        "id-uppercase",
        "origin-uppercase",
        "issued-at-offset",
        "key-id-0",
        "body-hash-short",
        "sig-padded",
    ],
)
def test_envelope_rejects(key: SigningKey, change: Any) -> None:
    envelope = change(_seal(key))
    with pytest.raises(ValidationError):
        Envelope.model_validate(envelope)
    with pytest.raises(ValidationError):
        Envelope.model_validate_json(json.dumps(envelope))


@pytest.mark.parametrize(
    "change",
    [
        lambda e: _with(e, prev=None),
        lambda e: _with(e, seq=1),
        lambda e: {**e, "record": {k: v for k, v in e["record"].items() if k != "prev"}},
        lambda e: _with(e, prev="sha256:" + "A" * 42),
        lambda e: _with(e, prev="sha512:" + "A" * 43),
        lambda e: _with(e, prev=b64url(hashlib.sha256(b"x").digest())),
        lambda e: _with(e, prev=""),
    ],
    ids=[
        "prev-null-at-seq-7",
        "prev-set-at-seq-1",
        "prev-missing",
        "prev-short",
        "prev-other-algorithm",
        "prev-untagged",
        "prev-empty",
    ],
)
def test_envelope_rejects_a_bad_prev(key: SigningKey, change: Any) -> None:
    envelope = change(_seal(key))
    with pytest.raises(ValidationError):
        Envelope.model_validate(envelope)
    with pytest.raises(ValidationError):
        Envelope.model_validate_json(json.dumps(envelope))


def test_envelope_rejects_prev_at_seq_1_with_the_documented_message(key: SigningKey) -> None:
    with pytest.raises(ValidationError, match="prev is null exactly when seq is 1"):
        Envelope.model_validate(_with(_seal(key, seq=1), prev=PREV))
    with pytest.raises(ValidationError, match="prev is null exactly when seq is 1"):
        Envelope.model_validate(_with(_seal(key, seq=2), prev=None))


@pytest.mark.parametrize("field", ["seq", "version"])
def test_envelope_accepts_the_largest_safe_counter(key: SigningKey, field: str) -> None:
    Envelope.model_validate(_with(_seal(key), **{field: MAX_SAFE_INTEGER}))


@pytest.mark.parametrize(
    "header",
    [
        {"deleted": True},  # a tombstone must have body_hash null
        {"body_hash": None},  # a live record must commit to a body
        {"v": True},  # Literal[1] accepts True (and 1.0) even in strict mode
        {"issued_at": "\u0662\u0660\u0662\u0665-03-14T09:26:53Z"},  # Arabic-Indic digits
        {"issued_at": "2025-13-45T25:61:61Z"},  # not a date
    ],
    ids=["deleted-with-hash", "live-without-hash", "v-true", "unicode-digits", "month-13"],
)
def test_envelope_should_reject(key: SigningKey, header: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Envelope.model_validate_json(json.dumps(_with(_seal(key), **header)))
