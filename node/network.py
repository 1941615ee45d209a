"""The worldwide view: every region's members and events and every node's health, as seen
from the node answering (on the hub, that is every node: the hub pulls from all of them).

This module gathers the inputs (counts, the roster, per-peer sync state, the heads each
peer last showed us, quarantine and alarms) and hands them to the pure verdicts in
``federation.health``. ``GET /network`` serves it as JSON and the ``/world`` page draws it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from federation import health
from node.alarms import per_origin
from node.db import census, log, peers, quarantine
from node.db.session import Session
from node.roster import self_entry
from node.runtime import Runtime
from node.sync.trustbook import TrustBook
from schemas.geo import REGION_LABELS, Region
from schemas.instants import format_utc, parse_utc
from schemas.roster import NodeStatus


class RegionView(BaseModel):
    region: str
    label: str
    members: int
    events: int  # upcoming: not over before today (UTC), as on /events
    leader: str | None  # the organization leading the region; None: still to be appointed
    leader_status: str | None  # the leader's node in the roster: active, suspended, revoked
    node_id: str | None  # the active node serving the region (a placeholder, if no leader)
    node_name: str | None
    node_url: str | None


class NodeView(BaseModel):
    node_id: str
    name: str
    leader: str
    region: str
    url: str
    status: str  # in the roster: active, suspended, revoked
    placeholder: bool
    hub: bool
    serving: bool
    latitude: float | None
    longitude: float | None
    health: health.Verdict
    last_contact: str | None  # last successful pull from it (this node: now)
    seconds_since_contact: float | None
    failures: int
    last_error: str
    behind: int | None  # records it lacks that the serving node holds
    ahead: int | None  # records it holds that the serving node still lacks
    agrees: bool | None  # digests of every origin equal to the serving node's
    diverged: list[str]
    quarantined: int  # records refused from it (as a relay) or signed by it
    alarms: int  # equivocation evidence held against it


class NetworkView(BaseModel):
    served_by: str
    served_by_name: str
    hub: str | None
    roster_version: int
    generated_at: str
    members: int
    events: int
    quarantined: int
    alarms: int
    regions: list[RegionView]
    nodes: list[NodeView]
    without_leader: list[str]  # region labels whose leader is still to be appointed


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    return parse_utc(value)


def _refusals(session: Session) -> tuple[dict[str, int], dict[str, int], int]:
    """Quarantined records charged per node, equivocation alarms per origin, and the total,
    from one grouped scan. A refused record counts once against each node involved: the
    relay that passed it on and the origin it claims (once, when they are the same)."""
    refused: dict[str, int] = {}
    alarms: dict[str, int] = {}
    total = 0
    for peer, origin, _reason, n in quarantine.grouped(session):
        total += n
        for node in {peer, origin or ""} - {""}:
            refused[node] = refused.get(node, 0) + n
    # Equivocation is the origin's fault: it signed two records at one seq. One alarm per
    # split view, proven or quarantined, as every other view counts them (node.alarms).
    alarms.update(per_origin(session))
    return refused, alarms, total


def recent_view(
    session: Session, *, runtime: Runtime, trust: TrustBook
) -> NetworkView:
    """The view as built at most ``network_view_seconds`` ago (see ``Recent``)."""
    view: NetworkView = runtime.network_view.get(
        runtime.monotonic(), lambda: network_view(session, runtime=runtime, trust=trust)
    )
    return view


def network_view(
    session: Session, *, runtime: Runtime, trust: TrustBook
) -> NetworkView:
    settings, now = runtime.settings, runtime.clock().astimezone(UTC)
    today = format_utc(now.replace(hour=0, minute=0, second=0, microsecond=0))
    counts = census.per_region(session, events_ending_after=today)
    mine: dict[str, health.Head] = {
        s.origin: (s.last_seq, s.digest) for s in log.summaries(session)
    }
    states = peers.every(session)
    seen = peers.heads_seen(session)
    refused, alarms, quarantined = _refusals(session)
    roster = trust.current
    roster_nodes = list(roster.nodes.values()) if roster else []
    if all(n.node_id != settings.node_id for n in roster_nodes):
        # Not (yet) admitted, or no roster at all: the node still shows itself.
        roster_nodes.insert(0, self_entry(settings, runtime.key))

    nodes = []
    for node in roster_nodes:
        me = node.node_id == settings.node_id
        state = states.get(node.node_id)
        theirs = seen.get(node.node_id)
        comparison = None
        if me:
            comparison = health.compare(mine, mine)
        elif theirs is not None:
            comparison = health.compare(
                mine, {h.origin: (h.last_seq, h.digest) for h in theirs.origins}
            )
        contact = None
        if state is not None:
            contact = health.Contact(
                _parse(state.last_attempt), _parse(state.last_success), state.failures
            )
        active = node.status is NodeStatus.ACTIVE
        verdict = (
            health.Verdict.SELF
            if me and not alarms.get(node.node_id)
            else health.verdict(
                active=active,
                contact=contact,
                comparison=comparison,
                alarms=alarms.get(node.node_id, 0),
            )
        )
        last = now if me else (contact.last_success if contact else None)
        nodes.append(
            NodeView(
                node_id=node.node_id,
                name=node.name,
                leader=node.leader,
                region=node.region.value,
                url=node.url,
                status=node.status.value,
                placeholder=node.placeholder,
                hub=roster is not None and node.node_id == roster.hub,
                serving=me,
                latitude=node.latitude,
                longitude=node.longitude,
                health=verdict,
                last_contact=format_utc(last) if last else None,
                seconds_since_contact=health.seconds_since(last, now),
                failures=state.failures if state and not me else 0,
                last_error=state.last_error if state and not me else "",
                behind=comparison.behind if comparison else None,
                ahead=comparison.ahead if comparison else None,
                agrees=(comparison.in_sync if comparison else None),
                diverged=list(comparison.diverged) if comparison else [],
                quarantined=refused.get(node.node_id, 0),
                alarms=alarms.get(node.node_id, 0),
            )
        )
    nodes.sort(key=lambda n: (list(Region).index(Region(n.region)), not n.hub, n.name))

    regions = []
    for region in Region:
        here = [n for n in nodes if n.region == region.value]
        # The leader is the appointed (non-placeholder) node: a suspended leader is still
        # the leader, a revoked one is not. The region is served by an active node, the
        # leader's first, else a placeholder standing in for one.
        leaders = sorted(
            (n for n in here if not n.placeholder and n.status != "revoked"),
            key=lambda n: n.status != "active",
        )
        serving = sorted((n for n in here if n.status == "active"), key=lambda n: n.placeholder)
        lead = leaders[0] if leaders else None
        serve = serving[0] if serving else None
        regions.append(
            RegionView(
                region=region.value,
                label=REGION_LABELS[region],
                members=counts.get(("member", region.value), 0),
                events=counts.get(("event", region.value), 0),
                leader=lead.leader if lead else None,
                leader_status=lead.status if lead else None,
                node_id=serve.node_id if serve else None,
                node_name=serve.name if serve else None,
                node_url=serve.url if serve else None,
            )
        )
    return NetworkView(
        served_by=settings.node_id,
        served_by_name=settings.name,
        hub=roster.hub if roster else None,
        roster_version=trust.version,
        generated_at=format_utc(now),
        members=sum(r.members for r in regions),
        events=sum(r.events for r in regions),
        quarantined=quarantined,
        alarms=sum(alarms.values()),
        regions=regions,
        nodes=nodes,
        without_leader=[r.label for r in regions if r.leader is None],
    )
