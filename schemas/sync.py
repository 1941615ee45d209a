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


class RecordPage(BaseModel):
    """Records of one origin with seq in (after, after + len]: dense, ascending."""

    model_config = ConfigDict(extra="ignore")

    origin: NodeId
    after: Annotated[int, Field(ge=0)]
    last_seq: Annotated[int, Field(ge=0)]
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
