"""Wire shapes of the sync protocol (docs/PROTOCOL.md, "Sync"). Non-table models."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.record import NodeId, Sha256Tag

MAX_PAGE_RECORDS = 1000


class OriginHead(BaseModel):
    """What a node holds of one origin's log: a dense prefix 1..last_seq."""

    model_config = ConfigDict(extra="ignore")

    origin: NodeId
    last_seq: Annotated[int, Field(ge=0)]
    head: Sha256Tag | None
    count: Annotated[int, Field(ge=0)]
    digest: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class Heads(BaseModel):
    model_config = ConfigDict(extra="ignore")

    node: NodeId
    roster_version: Annotated[int, Field(ge=0)]
    origins: Annotated[list[OriginHead], Field(max_length=1000)]
    # How many equivocation proofs the node holds (10.8): a receiver fetches them only when
    # this grows. Absent (0) from nodes of earlier releases.
    evidence: Annotated[int, Field(ge=0)] = 0


class RecordPage(BaseModel):
    """Records of one origin with seq in (after, after + len]: dense, ascending."""

    model_config = ConfigDict(extra="ignore")

    origin: NodeId
    after: Annotated[int, Field(ge=0)]
    last_seq: Annotated[int, Field(ge=0)]
    # The roster version the serving node trusts. Optional on the wire: a page without it
    # simply cannot vouch that the receiver's roster is current (docs/PROTOCOL.md 10.3).
    roster_version: Annotated[int, Field(ge=0)] | None = None
    records: Annotated[list[dict[str, Any]], Field(max_length=MAX_PAGE_RECORDS)]


class Nudge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    node: NodeId = Field(description="The node sending the nudge (it will be pulled from)")
    origin: NodeId
    seq: Annotated[int, Field(ge=1)]


class RangeDigest(BaseModel):
    origin: NodeId
    from_seq: int
    to_seq: int
    count: int
    digest: str


# A roster lists at most 64 nodes, so a node holds at most 64 x 64 statements.
MAX_COSIGNATURES = 4096
MAX_PROOFS = 1000


class Checkpoints(BaseModel):
    """``GET /federation/checkpoints``: cosignatures, each a ``healthnet.cosignature.v1``
    statement (docs/PROTOCOL.md 10.8), checked one by one by the receiver (a statement that
    fails is dropped, not the list)."""

    model_config = ConfigDict(extra="ignore")

    node: NodeId
    cosignatures: Annotated[list[Any], Field(max_length=MAX_COSIGNATURES)]


class EvidenceList(BaseModel):
    """``GET /federation/evidence``: equivocation proofs, each a
    ``healthnet.equivocation.v1`` object (docs/PROTOCOL.md 10.8), checked one by one."""

    model_config = ConfigDict(extra="ignore")

    node: NodeId
    evidence: Annotated[list[Any], Field(max_length=MAX_PROOFS)]
