"""``GET /network``: the worldwide view as JSON (the ``/world`` page polls it)."""

from __future__ import annotations

from fastapi import APIRouter

from node.deps import RuntimeDep, SessionDep, TrustDep
from node.network import NetworkView, recent_view

router = APIRouter(tags=["node"])


@router.get("/network", response_model=NetworkView)
def network(
    session: SessionDep, runtime: RuntimeDep, trust: TrustDep
) -> NetworkView:
    """Members and upcoming events per region, the regions still without a leader, and every
    roster node's health as seen from this node: last contact, records behind and ahead,
    digest agreement, quarantined records and equivocation alarms."""
    return recent_view(session, runtime=runtime, trust=trust)
