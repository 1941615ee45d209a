"""Key handling: node ids, PEM round trips, the private key kept out of reprs, and parsing
public keys."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st
from support import signing_fixtures
from support.signing_fixtures import OTHER_SEED, SEED

from federation.canonical import b64url
from federation.errors import WireFormatError
from federation.keys import (
    SigningKey,
    from_pem,
    from_seed,
    generate,
    node_id_for,
    public_key,
    to_pem,
)

# The fixed signing key (see support.signing_fixtures).
key = signing_fixtures.key


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
