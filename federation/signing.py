"""Signing and verifying records: pure functions over JSON values.

The signature covers the RFC 8785 bytes of the header *as received*, never a re-encoding
through a model, so a storage or model change cannot alter what was signed. Verification
raises (``BadSignature``, ``BodyMismatch``); it never returns a bool a caller could ignore.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from federation.canonical import b64url, b64url_decode, canonical_bytes, sha256_tag
from federation.errors import BadSignature, BodyMismatch, WireFormatError
from federation.keys import SigningKey
from schemas.record import PROTOCOL_VERSION


def body_hash(body: Mapping[str, Any]) -> str:
    return sha256_tag(canonical_bytes(body))


def header_hash(header: Mapping[str, Any]) -> str:
    """The chain link: ``sha256:`` of the canonical header, as the next record's ``prev``."""
    return sha256_tag(canonical_bytes(dict(header)))


def seal(
    *,
    key: SigningKey,
    origin: str,
    seq: int,
    record_id: str,
    kind: str,
    version: int,
    issued_at: str,
    body: Mapping[str, Any] | None,
    prev: str | None,
) -> dict[str, Any]:
    """Build and sign an envelope. ``body=None`` makes a tombstone.

    ``prev`` is :func:`header_hash` of the origin's record at ``seq - 1`` (None for seq 1).
    Returns a new dict; ``body`` is not mutated. ``issued_at`` is passed in (no clock here).
    """
    envelope, _, _ = seal_with_bytes(
        key=key,
        origin=origin,
        seq=seq,
        record_id=record_id,
        kind=kind,
        version=version,
        issued_at=issued_at,
        body=body,
        prev=prev,
    )
    return envelope


def seal_with_bytes(
    *,
    key: SigningKey,
    origin: str,
    seq: int,
    record_id: str,
    kind: str,
    version: int,
    issued_at: str,
    body: Mapping[str, Any] | None,
    prev: str | None,
) -> tuple[dict[str, Any], bytes, bytes | None]:
    """:func:`seal`, also returning the canonical header and body bytes it signed and
    hashed, so a caller that stores them need not canonicalise again."""
    body_bytes = None if body is None else canonical_bytes(body)
    header = {
        "v": PROTOCOL_VERSION,
        "origin": origin,
        "seq": seq,
        "id": record_id,
        "kind": kind,
        "version": version,
        "issued_at": issued_at,
        "deleted": body is None,
        "body_hash": None if body_bytes is None else sha256_tag(body_bytes),
        "key_id": key.key_id,
        "prev": prev,
    }
    header_bytes = canonical_bytes(header)
    sig = b64url(key.sign(header_bytes))
    # The envelope gets its own deep copy, parsed back from exactly the bytes that were hashed.
    copy = None if body_bytes is None else json.loads(body_bytes)
    return {"record": header, "body": copy, "sig": sig}, header_bytes, body_bytes


def verify_header(header: Mapping[str, Any], sig: str, public: Ed25519PublicKey) -> None:
    """Check that ``sig`` signs the canonical bytes of ``header`` under ``public``."""
    origin, key_id = header.get("origin"), header.get("key_id")
    try:
        raw_sig = b64url_decode(sig, field="sig")
    except WireFormatError as exc:
        raise BadSignature(
            "signature is not base64url", origin=str(origin), key_id=str(key_id)
        ) from exc
    verify_bytes(canonical_bytes(dict(header)), raw_sig, public, origin=origin, key_id=key_id)


def verify_bytes(
    header_bytes: bytes, signature: bytes, public: Ed25519PublicKey, *, origin: Any, key_id: Any
) -> None:
    """The Ed25519 check over already-canonical header bytes, raising ``BadSignature`` that
    names the origin and key. Ingest calls this directly (it has the bytes already)."""
    if len(signature) != 64:
        raise BadSignature(
            "an Ed25519 signature is 64 bytes", origin=str(origin), key_id=str(key_id)
        )
    try:
        public.verify(signature, header_bytes)
    except InvalidSignature as exc:
        raise BadSignature(
            "signature does not verify", origin=str(origin), key_id=str(key_id)
        ) from exc


def check_body(header: Mapping[str, Any], body: Mapping[str, Any] | None) -> None:
    """Bind a detached body to its header. ``body=None`` is allowed only as a stub or tombstone."""
    if body is None:
        return
    if header.get("deleted") is not False:
        raise BodyMismatch(
            "a deleted record carries no body",
            origin=str(header.get("origin")),
            key_id=str(header.get("key_id")),
        )
    expected = header.get("body_hash")
    if expected is None or body_hash(body) != expected:
        raise BodyMismatch(
            "body does not match body_hash",
            origin=str(header.get("origin")),
            key_id=str(header.get("key_id")),
        )


def verify_envelope(envelope: Mapping[str, Any], public: Ed25519PublicKey) -> None:
    """Verify signature then body binding of a raw envelope dict."""
    for name in ("record", "body", "sig"):
        if name not in envelope:
            raise WireFormatError("missing", field=name)
    header = envelope["record"]
    verify_header(header, envelope["sig"], public)
    check_body(header, envelope["body"])
