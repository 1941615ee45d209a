"""The charter roster: which nodes belong to the network, with which keys and scope.

The roster is the body of a record of kind ``roster`` in the hub's own log, signed by the
hub like any other record, so it travels and is verified the same way. Key validity is
expressed in the *origin's sequence numbers*, not in wall-clock time: "key 1 signed seq 1 to
41, key 2 signs from 42". Sequence numbers are signed and ordered; clocks are neither.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from schemas.fields import Latitude, Longitude, Name, Url, reject_nul_unless_checked
from schemas.geo import Region
from schemas.record import Counter, KeyId, NodeId


class NodeStatus(StrEnum):
    ACTIVE = "active"  # its records are accepted
    SUSPENDED = "suspended"  # new records refused until restored; held records stay
    REVOKED = "revoked"  # no longer part of the network; new records refused for good


class KeyStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"  # valid only up to ``until_seq`` (or for nothing, if that is null)


PublicKeyText = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{43}$")]


class RosterKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key_id: KeyId
    public_key: PublicKeyText
    from_seq: Counter = 1
    until_seq: Counter | None = None
    status: KeyStatus = KeyStatus.ACTIVE

    @model_validator(mode="after")
    def _window(self) -> RosterKey:
        if self.until_seq is not None and self.until_seq < self.from_seq - 1:
            raise ValueError("until_seq must not be before from_seq - 1")
        return self


class RosterNode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    node_id: NodeId
    name: Name
    leader: Name = Field(description="The organization that operates the node")
    region: Region
    url: Url
    status: NodeStatus = NodeStatus.ACTIVE
    keys: Annotated[list[RosterKey], Field(min_length=1, max_length=16)]
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    placeholder: bool = Field(default=False, description="Leader not yet appointed")

    @model_validator(mode="after")
    def _unique_keys(self) -> RosterNode:
        ids = [k.key_id for k in self.keys]
        if len(set(ids)) != len(ids):
            raise ValueError("key ids must be unique within a node")
        return self


class RosterBody(BaseModel):
    """The signed body of a roster record."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any, info: ValidationInfo) -> Any:
        return reject_nul_unless_checked(data, info)

    network: Name = "Health Social Media Network"
    hub: NodeId
    nodes: Annotated[list[RosterNode], Field(min_length=1, max_length=64)]

    @model_validator(mode="after")
    def _consistent(self) -> RosterBody:
        ids = [n.node_id for n in self.nodes]
        if len(set(ids)) != len(ids):
            raise ValueError("node ids must be unique")
        if self.hub not in ids:
            raise ValueError("the hub must be listed among the nodes")
        return self
