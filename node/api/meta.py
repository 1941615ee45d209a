"""About this node: health, identity, and the signed record behind any directory entry."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel

from node.db.census import per_kind
from node.db.log import current_signed
from node.db.session import ping
from node.db.store import last_seq
from node.deps import RuntimeDep, SessionDep
from node.errors import NotFound
from node.problem_docs import responses
from schemas.record import Envelope

router = APIRouter(tags=["node"], responses=responses(404, 422))


class Health(BaseModel):
    status: str
    database: str


class NodeInfo(BaseModel):
    node_id: str
    name: str
    region: str
    url: str
    key_id: str
    public_key: str
    key_from_seq: int
    leader: str
    latitude: float | None
    longitude: float | None
    placeholder: bool
    hub: bool
    last_seq: int
    members: int
    events: int


@router.get("/healthz", response_model=Health)
def healthz(session: SessionDep) -> Health:
    return Health(status="ok", database=ping(session))


@router.get("/node", response_model=NodeInfo)
def node_info(session: SessionDep, runtime: RuntimeDep) -> NodeInfo:
    s = runtime.settings
    counts = per_kind(session)
    return NodeInfo(
        node_id=s.node_id,
        name=s.name,
        region=s.region.value,
        url=s.url,
        key_id=runtime.key.key_id,
        public_key=runtime.key.public_b64,
        key_from_seq=s.key_from_seq,
        leader=s.leader or s.name,
        latitude=s.latitude,
        longitude=s.longitude,
        placeholder=s.placeholder,
        hub=s.hub,
        last_seq=last_seq(session, origin=s.node_id),
        members=counts.get("member", 0),
        events=counts.get("event", 0),
    )


@router.get("/records/{record_id}", response_model=Envelope)
def signed_record(
    record_id: Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")], session: SessionDep
) -> Envelope:
    """The current signed envelope (or tombstone) of a record, for offline verification."""
    signed = current_signed(session, record_id=record_id)
    if signed is None:
        raise NotFound(f"no record {record_id}")
    header, body, sig = signed
    return Envelope.model_validate(
        {
            "record": json.loads(header),
            "body": None if body is None else json.loads(body),
            "sig": sig,
        }
    )
