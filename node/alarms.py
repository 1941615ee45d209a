"""Equivocation alarms, as every view shows them: /federation/status, the node page,
/world, /metrics and ``healthnet peers`` all read this one list, so they agree.

Two sources, one alarm each per (origin, seq): a proof held (federation.evidence: shown to
this node, built from a peer's conflicting head or checkpoint, or learned from a peer and
checked here), and an equivocation that ingest quarantined on its own (the refused record
and the held header it conflicts with, which the next round turns into a proof).
"""

from __future__ import annotations

from typing import Any

from node.db import evidence, quarantine
from node.db.session import Session

SHAPES = {
    "fork": "two signed headers for one seq",
    "broken_link": "a signed header that does not link to the one signed before it",
    "same_version": "one record version signed twice",
}


def alarms(session: Session, *, limit: int = 50) -> list[dict[str, Any]]:
    """Oldest first: ``origin``, ``seq``, ``peer`` (who showed it), ``at``, ``detail``,
    ``proof`` (a checkable proof is held and served at /federation/evidence)."""
    found: dict[tuple[str | None, int | None], dict[str, Any]] = {}
    for held in evidence.held(session, limit=limit):
        found[(held.origin, held.seq)] = {
            "origin": held.origin, "seq": held.seq, "peer": held.learned_from, "at": held.at,
            "detail": f"{SHAPES.get(held.shape, held.shape)} (proof held)", "proof": True,
        }  # fmt: skip
    for a in quarantine.alarms(session, limit=limit):
        same = found.get((a.origin, a.seq)) or found.get((a.origin, (a.seq or 0) - 1))
        if same is not None:
            # The same split view, proven (a broken link is proven at seq - 1): name the
            # peer that showed it to this node first hand, and when, rather than the one
            # whose proof came later.
            same["peer"], same["at"] = a.peer, min(a.at, same["at"])
            continue
        found[(a.origin, a.seq)] = {
            "origin": a.origin, "seq": a.seq, "peer": a.peer, "at": a.at,
            "detail": a.detail, "proof": False,
        }  # fmt: skip
    return sorted(found.values(), key=lambda x: (x["at"], x["origin"] or "", x["seq"] or 0))


def per_origin(session: Session) -> dict[str, int]:
    """How many alarms each origin has against it."""
    counts: dict[str, int] = {}
    for alarm in alarms(session, limit=10_000):
        if alarm["origin"]:
            counts[alarm["origin"]] = counts.get(alarm["origin"], 0) + 1
    return counts
