"""The nearest directory: the roster's active nodes, nearest first."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from node.errors import NotFound
from node.problems import responses
from node.sync import Syncer
from schemas.geo import haversine_km
from schemas.roster import NodeStatus, RosterNode

router = APIRouter(prefix="/nodes", tags=["node"], responses=responses(404, 422))


class NearNode(BaseModel):
    node_id: str
    name: str
    leader: str
    region: str
    url: str
    placeholder: bool
    latitude: float | None
    longitude: float | None
    distance_km: float | None
    serving: bool  # the node answering this request


def rank(nodes: Iterable[RosterNode], *, me: str, lat: float, lon: float) -> list[NearNode]:
    """Active nodes by great-circle distance from (lat, lon); nodes without a location come
    last. Pure: the pages and the API rank with this one function."""
    found = []
    for node in nodes:
        if node.status is not NodeStatus.ACTIVE:
            continue
        distance = None
        if node.latitude is not None and node.longitude is not None:
            distance = round(haversine_km(lat, lon, node.latitude, node.longitude), 1)
        found.append(
            NearNode(
                node_id=node.node_id,
                name=node.name,
                leader=node.leader,
                region=node.region.value,
                url=node.url,
                placeholder=node.placeholder,
                latitude=node.latitude,
                longitude=node.longitude,
                distance_km=distance,
                serving=node.node_id == me,
            )
        )
    found.sort(key=lambda n: (n.distance_km is None, n.distance_km or 0.0, n.name))
    return found


@router.get("/nearest", response_model=list[NearNode])
def nearest(
    request: Request,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
) -> list[NearNode]:
    """Active nodes of the roster by great-circle distance from (lat, lon); nodes without a
    location come last. Every node answers from its own copy of the roster."""
    syncer: Syncer = request.app.state.syncer
    trust = syncer.trust
    if trust is None:
        raise NotFound("this node holds no roster")
    me = request.app.state.runtime.settings.node_id
    return rank(trust.nodes.values(), me=me, lat=lat, lon=lon)
