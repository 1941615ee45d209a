"""The operator's view of sync, shared by ``GET /federation/status``, the node page and
``healthnet peers``: per peer health, per origin lag and digest agreement, alarms."""

from __future__ import annotations

from typing import Any

from federation.trust import Trust
from node.alarms import alarms as equivocation_alarms
from node.db import log, peers, quarantine
from node.db.session import Session
from node.sync.trustbook import TrustBook


def federation_status(
    session: Session,
    *,
    me: str,
    trust: TrustBook,
    scheduler: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``scheduler`` is ``Scheduling.describe()``: which process runs the scheduled pulls
    (its pid and host; None when none does) and which one answered. The peers' heads (and
    so each origin's lag) are those the last pull of each peer stored, by whichever
    process pulled: every worker answers the same."""
    roster = trust.current
    held = {s.origin: s for s in log.summaries(session)}
    states = peers.every(session)
    seen = peers.heads_seen(session)
    by_reason = quarantine.by_reason(session)
    alarms = equivocation_alarms(session, limit=50)
    rows = []
    for node in trust.peers():
        state = states.get(node.node_id)
        theirs = seen.get(node.node_id)
        origins = {}
        for head in theirs.origins if theirs else []:
            mine = held.get(head.origin)
            origins[head.origin] = {
                "their_last_seq": head.last_seq,
                "lag": max(0, head.last_seq - (mine.last_seq if mine else 0)),
                "agrees": bool(
                    mine and mine.last_seq == head.last_seq and mine.digest == head.digest
                ),
            }
        rows.append(
            {
                "node_id": node.node_id,
                "name": node.name,
                "region": node.region.value,
                "url": node.url,
                "healthy": bool(state and state.healthy),
                "last_success": state.last_success if state else None,
                "last_attempt": state.last_attempt if state else None,
                "failures": state.failures if state else 0,
                "next_attempt": state.next_attempt if state else None,
                "last_error": state.last_error if state else "",
                "records_in": state.records_in if state else 0,
                "origins": origins,
            }
        )
    names = {n.node_id: n.name for n in roster.nodes.values()} if roster else {}
    return {
        "node": me,
        "hub": roster.hub if roster else None,
        "roster_version": roster.version if roster else 0,
        "origins": [
            {
                "origin": o,
                "name": names.get(o, ""),
                "last_seq": s.last_seq,
                "count": s.count,
                "head": s.head,
                "digest": s.digest,
                "standing": _standing(roster, o, me),
            }
            for o, s in sorted(held.items())
        ],
        "peers": rows,
        "quarantine": {"total": sum(by_reason.values()), "by_reason": by_reason},
        "alarms": alarms,
        "scheduler": scheduler,
    }


def _standing(roster: Trust | None, origin: str, me: str) -> str:
    """The origin's place in the roster held now (docs/PROTOCOL.md 10.1): ``active``,
    ``suspended`` or ``revoked`` (no new record of it is accepted, from it or relayed; what
    is held stays, still verifiable), or ``unlisted``."""
    node = roster.nodes.get(origin) if roster is not None else None
    if node is None:
        return "active" if origin == me else "unlisted"
    return node.status.value
