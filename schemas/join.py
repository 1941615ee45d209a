"""The join request: what a prospective node tells the hub about itself, signed with its key.

It replaces the out-of-band ``healthnet roster add`` line: the applicant signs these facts
with the key its node id derives from, the hub stores the request, and an admin approves
it (the roster entry is built from exactly these fields) or declines it. The envelope and
the signature are ``federation.joining``'s; docs/PROTOCOL.md 10.7 is the contract.

Every string is bounded, so the canonical request stays small (``MAX_REQUEST_BYTES`` in
``federation.joining``) and a hub can store many without a size check per field.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from schemas.fields import EMAIL_PATTERN, Latitude, Longitude, Name, Url, reject_nul
from schemas.geo import Region
from schemas.instants import parse_utc
from schemas.record import MAX_SAFE_INTEGER, KeyId, NodeId
from schemas.roster import PublicKeyText


def _real_instant(value: str) -> str:
    parse_utc(value)  # raises ValueError on 2026-13-45T99:00:00Z
    return value


# Exactly what ``schemas.instants.format_utc`` writes: no fraction, no offset but Z, so
# that a hub compares it without knowing how the applicant's clock prints time.
Instant = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"),
    AfterValidator(_real_instant),
]
# Random, unpadded base64url: 16 bytes of randomness are 22 characters. Bounded both ways,
# so a nonce is neither guessable nor a way to store kilobytes per request.
Nonce = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{16,64}$")]
# Whom the hub's operator writes to about the request: an e-mail address.
Contact = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254, pattern=EMAIL_PATTERN)
]
# Strict: "1" is a client mistake, not a sequence number (and the signed bytes would differ
# from what the hub lists).
FromSeq = Annotated[int, Field(ge=1, le=MAX_SAFE_INTEGER, strict=True)]


class JoinStatus(StrEnum):
    """Where a join request stands on the hub. Only ``pending`` can change."""

    PENDING = "pending"  # waiting for an admin
    APPROVED = "approved"  # the node is in the roster
    DECLINED = "declined"  # refused, with a reason the applicant can read
    EXPIRED = "expired"  # nobody decided in time; the applicant may ask again
    REPLACED = "replaced"  # a newer request of the same node took its place


class JoinRequest(BaseModel):
    """The signed body of a join request (the ``request`` member of the envelope)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        return reject_nul(data)

    node_id: NodeId
    name: Name
    region: Region
    url: Url
    contact: Contact
    leader: Name | None = Field(default=None, description="Default: the name")
    key_id: KeyId
    public_key: PublicKeyText
    key_from_seq: FromSeq = 1
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    nonce: Nonce
    created_at: Instant
