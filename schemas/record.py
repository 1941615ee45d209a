"""The signed record envelope: the wire format every node speaks.

An envelope is ``{"record": header, "body": object|null, "sig": base64url}``. The header
is what the origin signs (RFC 8785 canonical JSON, Ed25519); the body is bound to it by
``body_hash``. Keeping the body detached lets a node serve a superseded version as a stub
(header and signature only), which still proves that the sequence number was used, while
only the current version of a record carries its content. docs/PROTOCOL.md is the contract.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

PROTOCOL_VERSION = 1
MAX_SAFE_INTEGER = 2**53 - 1  # RFC 8785 numbers are IEEE 754 doubles

NodeId = Annotated[str, StringConstraints(pattern=r"^hn-[a-z2-7]{24}$")]
RecordId = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
]
KeyId = Annotated[str, StringConstraints(pattern=r"^ed25519:[1-9][0-9]{0,8}$")]


def _real_instant(value: str) -> str:
    """A real date and time of day (the pattern has checked the digits' layout): what
    ``datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")`` accepts (no leap second: a
    datetime holds none), at a quarter of its cost (every received record has one)."""
    date(int(value[0:4]), int(value[5:7]), int(value[8:10]))  # raises on 2025-13-45
    if int(value[11:13]) > 23 or int(value[14:16]) > 59 or int(value[17:19]) > 59:
        raise ValueError(f"{value[11:19]} is not a time of day")
    return value


Timestamp = Annotated[
    str,
    StringConstraints(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z$"
    ),
    AfterValidator(_real_instant),
]
Sha256Tag = Annotated[str, StringConstraints(pattern=r"^sha256:[A-Za-z0-9_-]{43}$")]
Signature = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{86}$")]
Counter = Annotated[int, Field(ge=1, le=MAX_SAFE_INTEGER)]


class RecordKind(StrEnum):
    MEMBER = "member"
    EVENT = "event"


# A Literal rather than the enum inside the strict header: strict mode would demand enum
# instances from Python callers, while the wire only ever carries the strings.
KindName = Literal["member", "event", "roster"]


class RecordHeader(BaseModel):
    """The signed part of a record. Every field is required, ``body_hash`` may be null.

    Strict: a peer that sends ``"seq": "5"`` is malformed, not coerced, because the
    signature covers the JSON types as sent.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    v: Literal[1]
    origin: NodeId
    seq: Counter
    id: RecordId
    kind: KindName
    version: Counter
    issued_at: Timestamp
    deleted: bool
    body_hash: Sha256Tag | None
    key_id: KeyId
    prev: Sha256Tag | None

    @field_validator("v", mode="before")
    @classmethod
    def _exact_int(cls, value: object) -> object:
        if type(value) is not int:  # true and 1.0 compare equal to 1, but are not the int 1
            raise ValueError("v must be the integer 1")
        return value

    @model_validator(mode="after")
    def _chain_starts_at_one(self) -> RecordHeader:
        # Each origin's records form a hash chain: ``prev`` is the SHA-256 of the canonical
        # header at seq - 1, so a relay cannot drop or swap a record without breaking it.
        if (self.seq == 1) != (self.prev is None):
            raise ValueError("prev is null exactly when seq is 1")
        return self

    @model_validator(mode="after")
    def _deleted_xor_body(self) -> RecordHeader:
        if self.deleted and self.body_hash is not None:
            raise ValueError("a deleted record has body_hash null")
        if not self.deleted and self.body_hash is None:
            raise ValueError("a live record commits to its body with body_hash")
        return self


class Envelope(BaseModel):
    """A record as it travels: header, detached body (or null) and signature."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    record: RecordHeader
    body: dict[str, Any] | None
    sig: Signature

    @model_validator(mode="after")
    def _no_body_on_tombstone(self) -> Envelope:
        if self.record.deleted and self.body is not None:
            raise ValueError("a deleted record carries no body")
        return self
