"""The envelope schema (``schemas.record.Envelope``): what it accepts from seal, and the
malformed headers, prev links and bodies it refuses."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from pydantic import ValidationError
from support import signing_fixtures
from support.signing_fixtures import BODY, PREV, RECORD_ID, _seal

from federation.canonical import b64url
from federation.keys import SigningKey
from schemas.record import MAX_SAFE_INTEGER, Envelope

# The fixed signing key (see support.signing_fixtures).
key = signing_fixtures.key


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
