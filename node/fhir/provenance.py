"""The signature status a FHIR resource reports: the stored record re-checked on read.

Every record was fully verified when it was stored (its roster key and validity window,
scope, chain link, signature, body hash). Re-checking the signature and the body hash on
read costs one Ed25519 verification and one SHA-256 per resource, over texts the store
keeps in canonical form, and it turns "the node says it checked" into "this answer was
checked": a row altered in the database after the fact shows up as ``failed``. It does
not re-decide trust (a key revoked later does not undo records signed inside its window).
Pure: the keys come in, nothing is read or written.
"""

from __future__ import annotations

from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from federation.canonical import b64url_decode, sha256_tag
from federation.errors import SignatureError, WireFormatError
from federation.keys import public_key
from federation.signing import verify_bytes
from federation.trust import Trust

VERIFIED = "verified"  # signature and body hash check out under the listed key
FAILED = "failed"  # they do not: the stored row is not what the origin signed
UNVERIFIABLE = "unverifiable"  # no key for (origin, key id) is known to this node now


class KeyRing:
    """Public keys by (origin, key id): this node's own key, then the held roster's keys.

    A standalone node holds no roster, but every record it serves is its own. Parsed keys
    are cached for the life of one request.
    """

    def __init__(self, *, own: tuple[str, str, str], trust: Trust | None) -> None:
        self._own = own  # (origin, key id, base64url public key)
        self._trust = trust
        self._cache: dict[tuple[str, str], Ed25519PublicKey | None] = {}

    def public(self, origin: str, key_id: str) -> Ed25519PublicKey | None:
        key = (origin, key_id)
        if key not in self._cache:
            self._cache[key] = self._find(origin, key_id)
        return self._cache[key]

    def _find(self, origin: str, key_id: str) -> Ed25519PublicKey | None:
        own_origin, own_key_id, own_public = self._own
        text = own_public if (origin, key_id) == (own_origin, own_key_id) else None
        if text is None and self._trust is not None:
            node = self._trust.nodes.get(origin)
            listed = next((k for k in node.keys if k.key_id == key_id), None) if node else None
            text = listed.public_key if listed else None
        if text is None:
            return None
        try:
            return public_key(text)
        except WireFormatError:
            return None


def status(
    keys: KeyRing, header: Mapping[str, object], header_text: str, sig: str, body_text: str | None
) -> str:
    """``verified``, ``failed`` or ``unverifiable`` for one stored version.

    ``header_text`` is the canonical header exactly as signed and ``body_text`` the
    canonical body (None for a tombstone), as the store keeps them.
    """
    public = keys.public(str(header.get("origin")), str(header.get("key_id")))
    if public is None:
        return UNVERIFIABLE
    try:
        raw = b64url_decode(sig, field="sig")
        verify_bytes(
            header_text.encode("utf-8"),
            raw,
            public,
            origin=header.get("origin"),
            key_id=header.get("key_id"),
        )
    except (SignatureError, WireFormatError):
        return FAILED
    if body_text is not None and sha256_tag(body_text.encode("utf-8")) != header.get("body_hash"):
        return FAILED
    return VERIFIED
