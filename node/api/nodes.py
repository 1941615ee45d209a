"""The nearest directory: the roster's active nodes, nearest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from node.deps import RuntimeDep, TrustDep
from node.errors import NotFound
from node.nearest import NearNode, rank
from node.problem_docs import responses

router = APIRouter(prefix="/nodes", tags=["node"], responses=responses(404, 422))


@router.get("/nearest", response_model=list[NearNode])
def nearest(
    runtime: RuntimeDep,
    trust: TrustDep,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
) -> list[NearNode]:
    """Active nodes of the roster by great-circle distance from (lat, lon); nodes without a
    location come last. Every node answers from its own copy of the roster."""
    roster = trust.current
    if roster is None:
        raise NotFound("this node holds no roster")
    return rank(roster.nodes.values(), me=runtime.settings.node_id, lat=lat, lon=lon)
