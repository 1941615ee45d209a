"""Provenance: what a node can say, on read, about one stored version it serves. Pure.

Every record was fully verified when it was stored (roster key and validity window, scope,
chain link, signature, body hash; docs/PROTOCOL.md). Re-checking on read costs one Ed25519
verification and one SHA-256 per version, over the canonical texts the store keeps, and
turns "the node says it checked" into "this answer was checked": a row altered in the
database after the fact reads as ``failed``.

The FHIR view and the web pages both answer from :func:`check`, so they cannot disagree,
in particular on a suspended origin. The rule for that case: suspending a node stops new
records from it (trust refuses an origin that is not active), but it does not undo what
it signed while it was active. So a held record of a suspended origin still *verifies*;
the origin's standing is reported beside the status, and each reader shows both. Likewise
a key revoked later does not undo records signed inside its validity window, while a
stored version whose sequence number lies outside its key's window was never valid and
reads as ``failed``.

No I/O and no clock: the keys come in as a :class:`KeyRing`, the texts as arguments.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from federation.canonical import b64url_decode, sha256_tag
from federation.errors import SignatureError, WireFormatError
from federation.keys import public_key
from federation.signing import verify_bytes
from federation.trust import Trust, key_valid
from schemas.roster import NodeStatus, RosterKey


class Status(StrEnum):
    """The signature status of one stored version (docs/FHIR.md, "Signature status")."""

    VERIFIED = "verified"  # signature and body hash check out under the listed key
    FAILED = "failed"  # they do not, or the key was not valid at that seq
    UNVERIFIABLE = "unverifiable"  # no key for (origin, key id) is known to this node now


class Standing(StrEnum):
    """The origin's place in the roster this node holds now."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    UNLISTED = "unlisted"  # no roster entry (a standalone node's own records are ACTIVE)


@dataclass(frozen=True)
class Check:
    """The outcome of :func:`check`: status, the origin's standing, and why, in words."""

    status: Status
    standing: Standing
    origin: str
    key_id: str
    seq: int
    reason: str  # empty when verified

    @property
    def ok(self) -> bool:
        return self.status is Status.VERIFIED


class KeyRing:
    """Public keys by (origin, key id): this node's own key, then the held roster's keys.

    A standalone node holds no roster, but every record it serves is its own. Parsed keys
    are cached for the life of the ring (one request).
    """

    def __init__(self, *, own: tuple[str, str, str], trust: Trust | None) -> None:
        self._own = own  # (origin, key id, base64url public key)
        self._trust = trust
        self._cache: dict[tuple[str, str], Ed25519PublicKey | None] = {}

    def standing(self, origin: str) -> Standing:
        node = self._trust.nodes.get(origin) if self._trust is not None else None
        if node is None:
            return Standing.ACTIVE if origin == self._own[0] else Standing.UNLISTED
        return {
            NodeStatus.ACTIVE: Standing.ACTIVE,
            NodeStatus.SUSPENDED: Standing.SUSPENDED,
        }.get(node.status, Standing.REVOKED)

    def public(self, origin: str, key_id: str) -> Ed25519PublicKey | None:
        """The key, whatever its window (see :meth:`valid_for` for the window)."""
        return self._lookup(origin, key_id)

    def valid_for(self, origin: str, key_id: str, seq: int) -> bool:
        """Whether the key was valid for ``seq``: inside the roster's window for a listed
        key; always for this node's own current key while no roster lists it."""
        listed = self._listed(origin, key_id)
        if listed is not None:
            return key_valid(listed, seq)
        return self._lookup(origin, key_id) is not None

    def _listed(self, origin: str, key_id: str) -> RosterKey | None:
        node = self._trust.nodes.get(origin) if self._trust is not None else None
        return next((k for k in node.keys if k.key_id == key_id), None) if node else None

    def _lookup(self, origin: str, key_id: str) -> Ed25519PublicKey | None:
        key = (origin, key_id)
        if key not in self._cache:
            self._cache[key] = self._find(origin, key_id)
        return self._cache[key]

    def _find(self, origin: str, key_id: str) -> Ed25519PublicKey | None:
        # The roster's listing first: it carries the window. This node's own key is the
        # fallback, for a standalone node or one the roster does not list yet.
        own_origin, own_key_id, own_public = self._own
        listed = self._listed(origin, key_id)
        if listed is not None:
            text = listed.public_key
        elif (origin, key_id) == (own_origin, own_key_id):
            text = own_public
        else:
            return None
        try:
            return public_key(text)
        except WireFormatError:
            return None


def check(keys: KeyRing, *, header_text: str, sig: str, body_text: str | None) -> Check:
    """Re-check one stored version: ``header_text`` is the canonical header exactly as
    signed, ``body_text`` the canonical body (None for a tombstone or a stub)."""
    try:
        header = json.loads(header_text)
    except ValueError:
        header = {}
    if not isinstance(header, dict):
        header = {}
    origin, key_id = str(header.get("origin", "")), str(header.get("key_id", ""))
    raw_seq = header.get("seq")
    seq = raw_seq if isinstance(raw_seq, int) and not isinstance(raw_seq, bool) else 0
    standing = keys.standing(origin)

    def outcome(status: Status, reason: str = "") -> Check:
        return Check(status, standing, origin, key_id, seq, reason)

    public = keys.public(origin, key_id)
    if public is None:
        return outcome(Status.UNVERIFIABLE, f"this node holds no key {key_id} of {origin}")
    if not keys.valid_for(origin, key_id, seq):
        return outcome(Status.FAILED, f"key {key_id} of {origin} is not valid for seq {seq}")
    try:
        raw = b64url_decode(sig, field="sig")
        verify_bytes(header_text.encode("utf-8"), raw, public, origin=origin, key_id=key_id)
    except (SignatureError, WireFormatError):
        return outcome(Status.FAILED, "the signature does not match the stored header")
    if body_text is not None and sha256_tag(body_text.encode("utf-8")) != header.get("body_hash"):
        return outcome(Status.FAILED, "the stored body does not match the signed body_hash")
    return outcome(Status.VERIFIED)
