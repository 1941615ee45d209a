"""The nearest directory: the roster's active nodes ranked by distance from a point.

Pure: the JSON route (``GET /nodes/nearest``) and the ``/nearest`` page rank with this one
function, from the roster each node holds.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from schemas.geo import haversine_km
from schemas.roster import NodeStatus, RosterNode


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
    # Unknown distances last; on a tie the node answering wins (no hop for nothing).
    found.sort(key=lambda n: (n.distance_km is None, n.distance_km or 0.0, not n.serving, n.name))
    return found
