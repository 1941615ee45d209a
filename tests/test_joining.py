"""Join requests as pure functions (federation.joining, docs/PROTOCOL.md 10.7): signing,
every refusal of verify_join with the field it names, the fingerprint, and the golden
vector the document quotes, re-checked with nothing but ``rfc8785``, ``cryptography`` and
the standard library, so the document is enough for another implementation."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from support.paths import ROOT
from support.signing_fixtures import OTHER_SEED, SEED

from federation import joining
from federation.canonical import b64url, canonical_bytes
from federation.errors import BadJoinSignature, BadSignature, StaleJoin, WireFormatError
from federation.keys import from_seed, node_id_for
from federation.signing import verify_header
from schemas.geo import Region
from schemas.join import JoinRequest

KEY = from_seed(SEED)
OTHER = from_seed(OTHER_SEED)
CREATED = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
NOW = CREATED + timedelta(minutes=2)


def body(key: Any = KEY, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "node_id": node_id_for(key.public_raw),
        "name": "Radboud UMC",
        "region": "europe",
        "url": "https://healthnet.radboudumc.nl",
        "contact": "reshape@radboudumc.nl",
        "leader": "Radboudumc REshape Center",
        "key_id": key.key_id,
        "public_key": key.public_b64,
        "key_from_seq": 1,
        "latitude": 51.8426,
        "longitude": 5.8528,
        "nonce": "q3Vx8mC2nZ0aL5tR7wY1eA",
        "created_at": "2026-11-24T12:00:00Z",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def resigned(request: dict[str, Any], key: Any = KEY) -> dict[str, Any]:
    """An envelope over ``request`` exactly as given (no validation): for bodies that
    sign_join would refuse, so that verify_join is the one to refuse them."""
    sig = b64url(key.sign(joining.signed_bytes(request)))
    return {"type": joining.JOIN_TYPE, "request": request, "sig": sig}


def refusal(envelope: Any, error: type[Exception] = WireFormatError, **kw: Any) -> Any:
    with pytest.raises(error) as caught:
        joining.verify_join(envelope, now=kw.pop("now", NOW), **kw)
    return caught.value


# --- signing and verifying ---------------------------------------------------------------


def test_a_signed_request_verifies_and_gives_the_model() -> None:
    envelope = joining.sign_join(KEY, body())
    assert set(envelope) == {"type", "request", "sig"} and envelope["type"] == "healthnet.join.v1"
    request = joining.verify_join(envelope, now=NOW)
    assert isinstance(request, JoinRequest)
    assert request.node_id == node_id_for(KEY.public_raw)
    assert request.region is Region.EUROPE and request.latitude == 51.8426


def test_sign_join_writes_the_body_as_the_model_does() -> None:
    envelope = joining.sign_join(KEY, body(name="  Radboud UMC  ", leader=None, latitude=None))
    assert envelope["request"]["name"] == "Radboud UMC"
    assert "leader" not in envelope["request"] and "latitude" not in envelope["request"]
    assert joining.verify_join(envelope, now=NOW).leader is None


def test_sign_join_refuses_a_bad_body_and_another_key() -> None:
    with pytest.raises(WireFormatError) as caught:
        joining.sign_join(KEY, body(region="antarctica"))
    assert caught.value.field == "request.region"
    with pytest.raises(WireFormatError) as caught:
        joining.sign_join(OTHER, body())
    assert caught.value.field == "request.public_key"


def test_the_signature_covers_the_prefix_and_canonical_request() -> None:
    envelope = joining.sign_join(KEY, body())
    message = b"healthnet.join.v1\n" + rfc8785.dumps(envelope["request"])
    KEY.private.public_key().verify(base64.urlsafe_b64decode(envelope["sig"] + "=="), message)


def test_a_join_signature_is_never_a_record_signature() -> None:
    # The same bytes without the prefix (what a record's header signature covers) do not
    # verify: a join signature cannot be passed off as a signed header, nor one as it.
    envelope = joining.sign_join(KEY, body())
    with pytest.raises(BadSignature):
        verify_header(envelope["request"], envelope["sig"], KEY.private.public_key())
    header_sig = b64url(KEY.sign(canonical_bytes(envelope["request"])))
    error = refusal({**envelope, "sig": header_sig}, BadJoinSignature)
    assert error.field == "sig"


# --- refusals, each naming its field --------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"region": "antarctica"}, "request.region"),
        ({"contact": "not an address"}, "request.contact"),
        ({"contact": "a@" + "b" * 250 + ".org"}, "request.contact"),
        ({"name": "x" * 201}, "request.name"),
        ({"url": "ftp://example.org"}, "request.url"),
        ({"node_id": "hn-short"}, "request.node_id"),
        ({"key_id": "rsa:1"}, "request.key_id"),
        ({"key_from_seq": "1"}, "request.key_from_seq"),
        ({"key_from_seq": 0}, "request.key_from_seq"),
        ({"latitude": 91.0}, "request.latitude"),
        ({"nonce": "short"}, "request.nonce"),
        ({"nonce": "n" * 65}, "request.nonce"),
        ({"created_at": "2026-11-24T12:00:00.5Z"}, "request.created_at"),
        ({"created_at": "2026-13-24T12:00:00Z"}, "request.created_at"),
        ({"unexpected": True}, "request.unexpected"),
        ({"name": "Radboud\x00UMC"}, "request"),
    ],
)
def test_a_malformed_request_names_its_field(change: dict[str, Any], field: str) -> None:
    error = refusal(resigned(body(**change)))
    assert error.field == field and error.reason


def test_a_missing_field_is_named() -> None:
    request = body()
    del request["contact"]
    assert refusal(resigned(request)).field == "request.contact"


@pytest.mark.parametrize(
    ("envelope", "field"),
    [
        ([], "body"),
        ({"request": {}, "sig": "x"}, "type"),
        ({"type": joining.JOIN_TYPE, "sig": "x"}, "request"),
        ({"type": "healthnet.record", "request": {}, "sig": "x"}, "type"),
        ({"type": joining.JOIN_TYPE, "request": [], "sig": "x"}, "request"),
        ({"type": joining.JOIN_TYPE, "request": {}, "sig": "x", "more": 1}, "more"),
    ],
)
def test_a_malformed_envelope_names_its_member(envelope: Any, field: str) -> None:
    assert refusal(envelope).field == field


@pytest.mark.parametrize(
    "sig",
    [None, 42, "", "not base64url!", "AAAA", b64url(bytes(64)), b64url(bytes(64)) + "="],
)
def test_a_bad_signature_is_refused_naming_sig(sig: Any) -> None:
    envelope = joining.sign_join(KEY, body())
    envelope["sig"] = sig
    error = refusal(envelope, BadJoinSignature)
    assert error.field == "sig" and error.origin == node_id_for(KEY.public_raw)


def test_a_missing_signature_is_a_bad_signature() -> None:
    envelope = joining.sign_join(KEY, body())
    del envelope["sig"]
    assert refusal(envelope, BadJoinSignature).reason.startswith("is missing")


def test_a_changed_field_breaks_the_signature() -> None:
    envelope = joining.sign_join(KEY, body())
    envelope["request"]["url"] = "https://elsewhere.example.org"
    assert refusal(envelope, BadJoinSignature).reason == "does not verify under request.public_key"


def test_a_request_signed_by_another_key_than_it_carries_is_refused() -> None:
    envelope = resigned(body(), key=OTHER)
    assert refusal(envelope, BadJoinSignature).field == "sig"


def test_the_node_id_must_derive_from_the_key() -> None:
    squatter = body(OTHER, node_id=node_id_for(KEY.public_raw))  # OTHER's key, KEY's id
    error = refusal(resigned(squatter, key=OTHER))
    assert error.field == "request.node_id"
    assert node_id_for(OTHER.public_raw) in error.reason


def test_freshness_window() -> None:
    envelope = joining.sign_join(KEY, body())
    assert joining.verify_join(envelope, now=CREATED + joining.MAX_AGE)
    assert joining.verify_join(envelope, now=CREATED - joining.MAX_SKEW)
    old = refusal(envelope, StaleJoin, now=CREATED + joining.MAX_AGE + timedelta(seconds=1))
    assert old.field == "request.created_at" and "older than 1 h" in old.reason
    ahead = refusal(envelope, StaleJoin, now=CREATED - joining.MAX_SKEW - timedelta(seconds=1))
    assert ahead.field == "request.created_at" and "ahead" in ahead.reason
    narrow = refusal(envelope, StaleJoin, now=NOW, max_age=timedelta(minutes=1))
    assert "1 min" in narrow.reason
    assert isinstance(old, WireFormatError)  # answered as an input error, 422


def test_an_expected_region_is_enforced() -> None:
    envelope = joining.sign_join(KEY, body())
    assert joining.verify_join(envelope, now=NOW, region=Region.EUROPE)
    assert refusal(envelope, now=NOW, region=Region.ASIA).field == "request.region"


def test_oversize_requests_and_bodies_are_refused() -> None:
    big = body(padding="x" * joining.MAX_REQUEST_BYTES)
    error = refusal(resigned(big))
    assert error.field == "request" and "bytes" in error.reason
    with pytest.raises(WireFormatError) as caught:
        joining.parse(b" " * (joining.MAX_ENVELOPE_BYTES + 1))
    assert caught.value.field == "body"


def test_the_longest_valid_request_fits_the_limit() -> None:
    widest = body(
        name="\U0001f3e5" * 200,
        leader="\U0001f3e5" * 200,
        url="https://" + "u" * 492,
        contact="c" * 240 + "@example.org",
        nonce="n" * 64,
        key_from_seq=2**53 - 1,
        key_id="ed25519:999999999",
    )
    assert len(canonical_bytes(widest)) <= joining.MAX_REQUEST_BYTES
    assert joining.verify_join(resigned(widest), now=NOW).name == "\U0001f3e5" * 200


def test_parse_refuses_duplicate_members_and_non_json() -> None:
    with pytest.raises(WireFormatError) as caught:
        joining.parse(b'{"type": "a", "type": "b"}')
    assert caught.value.field == "body" and "duplicate" in caught.value.reason
    with pytest.raises(WireFormatError):
        joining.parse(b"{not json")
    envelope = joining.sign_join(KEY, body())
    assert joining.parse(json.dumps(envelope).encode()) == envelope


# --- the fingerprint -----------------------------------------------------------------------


def test_fingerprint_is_80_bits_of_sha256_in_groups() -> None:
    fp = joining.fingerprint(KEY.public_b64)
    expected = base64.b32encode(hashlib.sha256(KEY.public_raw).digest()[:10]).decode()
    assert fp == "-".join(expected[i : i + 4] for i in range(0, 16, 4))
    assert len(fp) == 19 and fp.count("-") == 3
    # The same hash as the node id: its first 16 characters, upper-cased (PROTOCOL.md 10.7).
    assert fp.replace("-", "") == node_id_for(KEY.public_raw)[3:19].upper()
    assert joining.fingerprint(OTHER.public_b64) != fp


def test_fingerprint_refuses_what_is_not_a_key() -> None:
    with pytest.raises(WireFormatError):
        joining.fingerprint("not a key")
    with pytest.raises(WireFormatError):
        joining.fingerprint(b64url(bytes(16)))


# --- the golden vector (docs/PROTOCOL.md 10.7) ---------------------------------------------

GOLDEN_SIGNED = (
    "healthnet.join.v1\n"
    '{"contact":"reshape@radboudumc.nl","created_at":"2026-11-24T12:00:00Z","key_from_seq":1,'
    '"key_id":"ed25519:1","latitude":51.8426,"leader":"Radboudumc REshape Center",'
    '"longitude":5.8528,"name":"Radboud UMC","node_id":"hn-eh7ddx5bksrgcytl7bkai36s",'
    '"nonce":"q3Vx8mC2nZ0aL5tR7wY1eA","public_key":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",'
    '"region":"europe","url":"https://healthnet.radboudumc.nl"}'
)
GOLDEN_SIG = (
    "lkV7wwaNFIqB80teKk2zyxafCIN9qGmmzL8lx8C3KazWsdc4GtoXJTYp4g08mNlCTO5VyiIlvwFR-pT4PUZcDA"
)
GOLDEN_FINGERPRINT = "EH7D-DX5B-KSRG-CYTL"


def test_golden_vector() -> None:
    envelope = joining.sign_join(KEY, body())
    assert joining.signed_bytes(envelope["request"]) == GOLDEN_SIGNED.encode("ascii")
    assert envelope["sig"] == GOLDEN_SIG  # Ed25519 is deterministic: same key, same bytes
    assert joining.fingerprint(KEY.public_b64) == GOLDEN_FINGERPRINT


def test_golden_vector_independently() -> None:
    """PROTOCOL.md 10.7 with rfc8785, cryptography and the standard library only."""
    request = json.loads(GOLDEN_SIGNED.split("\n", 1)[1])
    message = b"healthnet.join.v1\n" + rfc8785.dumps(request)
    assert message == GOLDEN_SIGNED.encode("ascii")
    raw_key = base64.urlsafe_b64decode(request["public_key"] + "=")
    Ed25519PublicKey.from_public_bytes(raw_key).verify(
        base64.urlsafe_b64decode(GOLDEN_SIG + "=="), message
    )
    node_id = "hn-" + base64.b32encode(hashlib.sha256(raw_key).digest()[:15]).decode().lower()
    assert node_id == request["node_id"]
    letters = base64.b32encode(hashlib.sha256(raw_key).digest()[:10]).decode()
    assert "-".join(letters[i : i + 4] for i in range(0, 16, 4)) == GOLDEN_FINGERPRINT


def test_protocol_document_quotes_the_golden_vector() -> None:
    doc = (ROOT / "docs" / "PROTOCOL.md").read_text("utf-8")
    section = doc[doc.index("### 10.7") :]
    for value in (*GOLDEN_SIGNED.split("\n"), GOLDEN_SIG, GOLDEN_FINGERPRINT, SEED.hex()):
        assert value in section, value
