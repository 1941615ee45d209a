"""Ed25519 keys and node identities, as pure values.

A node's id is derived from its first public key (``hn-`` + 24 base32 characters of its
SHA-256), so an id can be created without coordination and a node cannot later claim an
id that another key produced. Rotated keys keep the id; the roster binds them to it.
Reading and writing key files is the node's job (``node.home``); here keys are bytes.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from federation.canonical import b64url, b64url_decode
from federation.errors import WireFormatError


@dataclass(frozen=True, repr=False)
class SigningKey:
    """A private key with the key id under which its signatures are published.

    ``repr`` is deliberately opaque so a key never ends up in a log line or traceback.
    """

    key_id: str
    private: Ed25519PrivateKey

    def __repr__(self) -> str:
        return f"SigningKey({self.key_id}, public={self.public_b64})"

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def public_b64(self) -> str:
        return b64url(self.public_raw)

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)


def generate(key_id: str = "ed25519:1") -> SigningKey:
    return SigningKey(key_id, Ed25519PrivateKey.generate())


def from_seed(seed: bytes, key_id: str = "ed25519:1") -> SigningKey:
    """A key from its 32-byte RFC 8032 seed: how test vectors pin a key."""
    return SigningKey(key_id, Ed25519PrivateKey.from_private_bytes(seed))


def to_pem(key: SigningKey) -> bytes:
    return key.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def from_pem(data: bytes, key_id: str) -> SigningKey:
    private = serialization.load_pem_private_key(data, password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise WireFormatError("the key file does not hold an Ed25519 private key")
    return SigningKey(key_id, private)


@lru_cache(maxsize=256)
def public_key(text: str, *, field: str = "public_key") -> Ed25519PublicKey:
    """Parse a base64url raw public key (43 characters, 32 bytes).

    Cached: every received record looks up its origin's key, and decoding it each time was
    a few µs of every record's check (a key object is immutable, safe to share)."""
    raw = b64url_decode(text, field=field)
    if len(raw) != 32:
        raise WireFormatError("an Ed25519 public key is 32 bytes", field=field)
    return Ed25519PublicKey.from_public_bytes(raw)


def node_id_for(public_raw: bytes) -> str:
    digest = hashlib.sha256(public_raw).digest()[:15]
    return "hn-" + base64.b32encode(digest).decode("ascii").lower()
