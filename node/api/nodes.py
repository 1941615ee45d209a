"""The nearest directory: the roster's active nodes, nearest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from node.errors import NotFound
from node.nearest import NearNode, rank
from node.problems import responses
from node.sync import Syncer

router = APIRouter(prefix="/nodes", tags=["node"], responses=responses(404, 422))


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
