"""Known-answer tests: the committed golden records of docs/PROTOCOL.md.

These read tests/vectors/record_vectors.json and never regenerate it, so any change to
canonicalisation, hashing, key derivation or signing shows up here as a failure rather than
as a federation that silently stops agreeing with itself. The second half re-verifies the
vectors with nothing but ``cryptography``, ``rfc8785`` and the standard library, following
the recipe in docs/PROTOCOL.md, to show that the document alone is enough to verify.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from support.envelopes import vector_envelope

from federation import errors
from federation.canonical import canonical_bytes
from federation.keys import from_seed, node_id_for, public_key
from federation.signing import body_hash, header_hash, seal, verify_envelope
from schemas.event import EventBody
from schemas.member import MemberBody
from schemas.record import Envelope

ROOT = Path(__file__).resolve().parents[1]
VECTORS = json.loads((ROOT / "tests" / "vectors" / "record_vectors.json").read_text("utf-8"))
VALID: list[dict[str, Any]] = VECTORS["valid"]
INVALID: list[dict[str, Any]] = VECTORS["invalid"]
KEY = VECTORS["key"]
CHAIN: list[dict[str, Any]] = sorted(VALID, key=lambda case: case["header"]["seq"])
# Cases that verify_envelope itself rejects, and those only a later check catches.
SIGNATURE_CASES = [case for case in INVALID if case["error"] not in ("shape", "chain")]
SHAPE_CASES = [case for case in INVALID if case["error"] == "shape"]
CHAIN_CASES = [case for case in INVALID if case["error"] == "chain"]

# RFC 8032 section 7.1, TEST 1: the public key of the seed the vectors are made from.
RFC8032_TEST1_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["name"] for case in cases]


def test_vector_file_covers_the_documented_cases() -> None:
    assert {"member", "event", "tombstone", "stub", "deleted_stub"} <= set(_ids(VALID))
    assert {
        "tampered_header_seq",
        "tampered_body_name",
        "wrong_key",
        "sig_padded",
        "sig_standard_alphabet",
        "sig_truncated",
        "sig_noncanonical_trailing_bits",
        "tombstone_with_body",
        "body_hash_mismatch",
        "prev_wrong",
        "prev_missing_at_seq_2",
        "prev_at_seq_1",
    } <= set(_ids(INVALID))
    assert {case["error"] for case in INVALID} == {"BadSignature", "BodyMismatch", "shape", "chain"}
    assert _ids(CHAIN_CASES) == ["prev_wrong"]
    assert set(_ids(SHAPE_CASES)) == {"prev_missing_at_seq_2", "prev_at_seq_1"}


def test_seed_is_rfc8032_test1_and_node_id_derives_from_it() -> None:
    key = from_seed(bytes.fromhex(KEY["seed_hex"]), KEY["key_id"])
    assert key.public_raw.hex() == RFC8032_TEST1_PUBLIC == KEY["public_key_hex"]
    assert key.public_b64 == KEY["public_key"]
    assert node_id_for(key.public_raw) == KEY["node_id"]


def test_vector_kinds_are_what_their_names_say() -> None:
    by_name = {case["name"]: case for case in VALID}
    assert by_name["member"]["header"]["kind"] == "member"
    assert by_name["event"]["header"]["kind"] == "event"
    tomb = by_name["tombstone"]
    assert tomb["header"]["deleted"] is True
    assert tomb["header"]["body_hash"] is None and tomb["body"] is None
    stub = by_name["stub"]
    assert stub["header"]["deleted"] is False
    assert stub["header"]["body_hash"] is not None and stub["body"] is None
    # The stub is the superseded version of the member record.
    member = by_name["member"]["header"]
    assert stub["header"]["id"] == member["id"]
    assert stub["header"]["version"] < member["version"]
    assert stub["header"]["seq"] < member["seq"]
    # The second stub is the version that the tombstone superseded.
    deleted_stub, tombstone = by_name["deleted_stub"]["header"], tomb["header"]
    assert deleted_stub["deleted"] is False and by_name["deleted_stub"]["body"] is None
    assert deleted_stub["id"] == tombstone["id"]
    assert deleted_stub["version"] + 1 == tombstone["version"]
    assert deleted_stub["seq"] + 1 == tombstone["seq"]


def test_vector_bodies_are_valid_schema_bodies() -> None:
    by_name = {case["name"]: case for case in VALID}
    MemberBody.model_validate(by_name["member"]["body"])
    MemberBody.model_validate(by_name["stub"]["sealed_body"])
    MemberBody.model_validate(by_name["deleted_stub"]["sealed_body"])
    EventBody.model_validate(by_name["event"]["body"])
    assert any(ord(ch) > 127 for ch in json.dumps(by_name["member"]["body"], ensure_ascii=False))


@pytest.mark.parametrize("case", VALID, ids=_ids(VALID))
def test_canonical_header_bytes(case: dict[str, Any]) -> None:
    assert canonical_bytes(case["header"]) == bytes.fromhex(case["canonical_header_hex"])


@pytest.mark.parametrize("case", VALID, ids=_ids(VALID))
def test_canonical_body_bytes_and_hash(case: dict[str, Any]) -> None:
    if case["body"] is None:
        assert case["canonical_body_hex"] is None
        return
    assert canonical_bytes(case["body"]) == bytes.fromhex(case["canonical_body_hex"])
    assert body_hash(case["body"]) == case["body_hash"] == case["header"]["body_hash"]


@pytest.mark.parametrize("case", VALID, ids=_ids(VALID))
def test_seal_reproduces_the_signature(case: dict[str, Any]) -> None:
    header = case["header"]
    key = from_seed(bytes.fromhex(KEY["seed_hex"]), header["key_id"])
    body = case["sealed_body"] if "sealed_body" in case else case["body"]
    sealed = seal(
        key=key,
        origin=header["origin"],
        seq=header["seq"],
        record_id=header["id"],
        kind=header["kind"],
        version=header["version"],
        issued_at=header["issued_at"],
        body=body,
        prev=header["prev"],
    )
    assert sealed["record"] == header
    assert list(sealed["record"]) == list(header)
    assert sealed["sig"] == case["sig"]
    assert sealed["body"] == body


@pytest.mark.parametrize("case", VALID, ids=_ids(VALID))
def test_valid_vectors_verify(case: dict[str, Any]) -> None:
    assert case["public_key"] == KEY["public_key"]
    assert case["node_id"] == KEY["node_id"] == case["header"]["origin"]
    envelope = vector_envelope(case)
    verify_envelope(envelope, public_key(case["public_key"]))
    parsed = Envelope.model_validate_json(json.dumps(envelope, ensure_ascii=False))
    assert parsed.record.model_dump() == case["header"]


@pytest.mark.parametrize("case", VALID, ids=_ids(VALID))
def test_valid_vectors_fail_under_another_key(case: dict[str, Any]) -> None:
    with pytest.raises(errors.BadSignature):
        verify_envelope(vector_envelope(case), public_key(VECTORS["other_key"]["public_key"]))


@pytest.mark.parametrize("case", SIGNATURE_CASES, ids=_ids(SIGNATURE_CASES))
def test_invalid_vectors_raise_exactly_the_expected_class(case: dict[str, Any]) -> None:
    expected = getattr(errors, case["error"])
    with pytest.raises(errors.HealthnetError) as info:
        verify_envelope(case["envelope"], public_key(case["public_key"]))
    assert type(info.value) is expected


@pytest.mark.parametrize("case", SHAPE_CASES + CHAIN_CASES, ids=_ids(SHAPE_CASES + CHAIN_CASES))
def test_correctly_signed_invalid_vectors_pass_verify_envelope(case: dict[str, Any]) -> None:
    """Signature and body are fine: only the shape check or the chain check can catch them."""
    verify_envelope(case["envelope"], public_key(case["public_key"]))


# --- the hash chain: prev -----------------------------------------------------------------


@pytest.mark.parametrize("case", VALID, ids=_ids(VALID))
def test_header_hash_is_sha256_of_the_canonical_header(case: dict[str, Any]) -> None:
    digest = hashlib.sha256(bytes.fromhex(case["canonical_header_hex"])).digest()
    expected = "sha256:" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert header_hash(case["header"]) == expected == case["header_hash"]
    # Member order does not matter: the hash is over the canonical bytes.
    assert header_hash(dict(reversed(list(case["header"].items())))) == expected


def test_valid_vectors_are_one_origins_complete_chain() -> None:
    assert [case["header"]["seq"] for case in CHAIN] == list(range(1, len(CHAIN) + 1))
    assert {case["header"]["origin"] for case in CHAIN} == {KEY["node_id"]}
    assert CHAIN[0]["header"]["prev"] is None
    for before, after in zip(CHAIN, CHAIN[1:], strict=False):
        assert after["header"]["prev"] == header_hash(before["header"]), after["name"]
    # The stubs keep their headers, so the links through superseded versions still verify.
    assert [case["name"] for case in CHAIN if case["body"] is None] == [
        "stub", "deleted_stub", "tombstone"
    ]


def test_chain_links_are_all_different() -> None:
    links = [case["header"]["prev"] for case in CHAIN[1:]]
    assert len(set(links)) == len(links)


@pytest.mark.parametrize("case", CHAIN_CASES, ids=_ids(CHAIN_CASES))
def test_chain_check_rejects_a_wrong_prev(case: dict[str, Any]) -> None:
    header, previous = case["envelope"]["record"], case["previous_header"]
    assert previous["seq"] == header["seq"] - 1
    assert previous["origin"] == header["origin"]
    # previous_header is the valid record at that seq, which the receiver already holds.
    assert previous == CHAIN[previous["seq"] - 1]["header"]
    assert header["prev"] != header_hash(previous)
    Envelope.model_validate(case["envelope"])  # well-formed: only the link is wrong


def test_prev_wrong_competes_with_the_valid_record_at_its_seq() -> None:
    """Two different signed headers for one (origin, seq): evidence of equivocation."""
    (case,) = CHAIN_CASES
    header = case["envelope"]["record"]
    valid = CHAIN[header["seq"] - 1]["header"]
    assert (valid["origin"], valid["seq"]) == (header["origin"], header["seq"])
    assert header_hash(valid) != header_hash(header)


@pytest.mark.parametrize("case", SHAPE_CASES, ids=_ids(SHAPE_CASES))
def test_prev_shape_rule(case: dict[str, Any]) -> None:
    header = case["envelope"]["record"]
    assert (header["seq"] == 1) == (header["prev"] is not None)
    with pytest.raises(ValueError, match="prev is null exactly when seq is 1"):
        Envelope.model_validate(case["envelope"])


@pytest.mark.parametrize("case", INVALID, ids=_ids(INVALID))
def test_invalid_vectors_shape_check(case: dict[str, Any]) -> None:
    """Malformed signatures are caught by the shape check already; the rest only by crypto."""
    raw = json.dumps(case["envelope"], ensure_ascii=False)
    if case["shape_valid"]:
        Envelope.model_validate_json(raw)
    else:
        with pytest.raises(ValueError):
            Envelope.model_validate_json(raw)


# --- The same vectors, verified from the recipe in docs/PROTOCOL.md alone ----------------

_SIG = re.compile(r"^[A-Za-z0-9_-]{86}$")
_HASH = re.compile(r"^sha256:[A-Za-z0-9_-]{43}$")


def _strict_b64url(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != text:
        raise ValueError("non-canonical trailing bits")
    return raw


def _independent_body_hash(body: dict[str, Any]) -> str:
    digest = hashlib.sha256(rfc8785.dumps(body)).digest()
    return "sha256:" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _independent_header_hash(header: dict[str, Any]) -> str:
    digest = hashlib.sha256(rfc8785.dumps(header)).digest()
    return "sha256:" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _independent_verify(
    envelope: dict[str, Any], public_b64: str, previous: dict[str, Any] | None = None
) -> None:
    """docs/PROTOCOL.md, "Verifying a record", steps 2 (in part) and 4 to 7 (the key is
    given). ``previous`` is the verified header at seq - 1, when the receiver holds it."""
    header, body, sig = envelope["record"], envelope["body"], envelope["sig"]
    if not isinstance(sig, str) or not _SIG.match(sig):
        raise ValueError("sig is not 86 characters of base64url")
    prev = header["prev"]
    if (header["seq"] == 1) != (prev is None) or (prev is not None and not _HASH.match(prev)):
        raise ValueError("prev is null exactly when seq is 1, else a sha256 tag")
    public = Ed25519PublicKey.from_public_bytes(_strict_b64url(public_b64))
    try:
        public.verify(_strict_b64url(sig), rfc8785.dumps(header))
    except InvalidSignature as exc:
        raise ValueError("signature does not verify") from exc
    if body is not None:
        if header["deleted"] or header["body_hash"] is None:
            raise ValueError("a tombstone carries no body")
        if _independent_body_hash(body) != header["body_hash"]:
            raise ValueError("body does not match body_hash")
    if previous is not None:
        if previous["origin"] != header["origin"] or previous["seq"] != header["seq"] - 1:
            raise ValueError("previous is not this origin's header at seq - 1")
        if _independent_header_hash(previous) != prev:
            raise ValueError("prev does not match the header at seq - 1: the chain is broken")


@pytest.mark.parametrize("case", VALID, ids=_ids(VALID))
def test_independent_recipe_verifies_valid_vectors(case: dict[str, Any]) -> None:
    seed = bytes.fromhex(KEY["seed_hex"])
    private = Ed25519PrivateKey.from_private_bytes(seed)
    raw_public = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert base64.urlsafe_b64encode(raw_public).rstrip(b"=").decode() == case["public_key"]
    node_id = "hn-" + base64.b32encode(hashlib.sha256(raw_public).digest()[:15]).decode().lower()
    assert node_id == case["node_id"]

    header_bytes = rfc8785.dumps(case["header"])
    assert header_bytes == bytes.fromhex(case["canonical_header_hex"])
    # Ed25519 (RFC 8032, pure) is deterministic: signing again gives the same 64 bytes.
    sig = base64.urlsafe_b64encode(private.sign(header_bytes)).rstrip(b"=").decode()
    assert sig == case["sig"] and len(sig) == 86

    if case["body"] is not None:
        assert rfc8785.dumps(case["body"]) == bytes.fromhex(case["canonical_body_hex"])
        assert _HASH.match(case["body_hash"])
        assert _independent_body_hash(case["body"]) == case["header"]["body_hash"]
    if "sealed_body" in case:
        assert _independent_body_hash(case["sealed_body"]) == case["header"]["body_hash"]

    seq = case["header"]["seq"]
    previous = CHAIN[seq - 2]["header"] if seq > 1 else None
    _independent_verify(vector_envelope(case), case["public_key"], previous)


def test_independent_recipe_verifies_the_chain_link_by_link() -> None:
    previous = None
    for case in CHAIN:
        _independent_verify(vector_envelope(case), case["public_key"], previous)
        assert _independent_header_hash(case["header"]) == case["header_hash"]
        previous = case["header"]
    # Dropping a record breaks the chain: seq 3 does not link to seq 1.
    with pytest.raises(ValueError):
        _independent_verify(vector_envelope(CHAIN[2]), KEY["public_key"], CHAIN[0]["header"])
    # Swapping two records breaks it too.
    swapped = {**CHAIN[1]["header"], "seq": 3}
    with pytest.raises(ValueError, match="chain is broken"):
        _independent_verify(vector_envelope(CHAIN[3]), KEY["public_key"], swapped)


@pytest.mark.parametrize("case", INVALID, ids=_ids(INVALID))
def test_independent_recipe_rejects_invalid_vectors(case: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        _independent_verify(case["envelope"], case["public_key"], case.get("previous_header"))


@pytest.mark.parametrize("case", CHAIN_CASES, ids=_ids(CHAIN_CASES))
def test_independent_recipe_needs_the_previous_header_for_a_chain_case(
    case: dict[str, Any],
) -> None:
    _independent_verify(case["envelope"], case["public_key"])  # alone, it looks fine
    with pytest.raises(ValueError, match="chain is broken"):
        _independent_verify(case["envelope"], case["public_key"], case["previous_header"])


def test_lenient_decoding_would_accept_the_trailing_bits_alias() -> None:
    """Why strict base64url matters: the alias decodes to the real signature's bytes."""
    by_name = {case["name"]: case for case in INVALID}
    alias = by_name["sig_noncanonical_trailing_bits"]["envelope"]["sig"]
    real = by_name["sig_padded"]["envelope"]["sig"].rstrip("=")
    assert alias != real
    assert base64.urlsafe_b64decode(alias + "==") == base64.urlsafe_b64decode(real + "==")


# --- docs/PROTOCOL.md quotes these exact values ------------------------------------------


def test_protocol_document_quotes_the_vectors() -> None:
    doc = (ROOT / "docs" / "PROTOCOL.md").read_text("utf-8")
    by_name = {case["name"]: case for case in VALID}
    member, tombstone = by_name["member"], by_name["tombstone"]
    public_raw = bytes.fromhex(KEY["public_key_hex"])
    quoted = [
        KEY["seed_hex"],
        KEY["public_key"],
        KEY["public_key_hex"],
        KEY["node_id"],
        hashlib.sha256(public_raw).hexdigest(),
        member["sig"],
        member["body_hash"],
        hashlib.sha256(bytes.fromhex(member["canonical_body_hex"])).hexdigest(),
        bytes.fromhex(member["canonical_header_hex"]).decode("ascii"),
        bytes.fromhex(member["canonical_body_hex"]).decode("utf-8"),
        json.dumps(member["header"], indent=2),
        bytes.fromhex(tombstone["canonical_header_hex"]).decode("ascii"),
        tombstone["sig"],
        by_name["stub"]["header_hash"],
        hashlib.sha256(bytes.fromhex(by_name["stub"]["canonical_header_hex"])).hexdigest(),
        bytes.fromhex(by_name["stub"]["canonical_header_hex"]).decode("ascii"),
    ]
    for case in CHAIN:
        quoted.append(case["header_hash"])
    for value in quoted:
        assert value in doc, value
    # Wrapped hex blocks: compare with all whitespace removed.
    packed = "".join(doc.split())
    assert member["canonical_header_hex"] in packed
    assert base64.urlsafe_b64decode(member["sig"] + "==").hex() in packed
