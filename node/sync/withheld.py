"""Restoring bodies that a relay withheld: after a pull, the peer is asked again, one seq
at a time, for each record held only as a stub although no later version superseded it.

Kept apart from ``node.sync.puller`` (which decides what to pull and pages through it):
this is a repair that runs after the pages, from the stubs the database names, and it
needs only the peer client, the roster and the puller's way of applying a page.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from federation.trust import Trust
from node.db import store
from node.db.session import Engine, Session
from node.sync.client import PeerClient
from node.sync.ingest import PageResult
from node.sync.trustbook import TrustBook
from schemas.roster import RosterNode
from schemas.sync import Heads

logger = logging.getLogger(__name__)

# The stubs looked at after one pull: a relay that withheld thousands is repaired over
# several pulls instead of holding up this one.
PER_PULL = 50

Apply = Callable[[str, str, Sequence[Any], Trust], PageResult]


async def refetch(
    *,
    engine: Engine,
    trust: TrustBook,
    client: PeerClient,
    apply: Apply,
    peer: RosterNode,
    heads: Heads,
) -> None:
    """Ask ``peer`` again for seqs that another relay served without their body, those it
    holds by its ``heads``; ``apply(peer, origin, records, trust)`` stores what comes."""
    theirs = {h.origin: h.last_seq for h in heads.origins}
    missing = await asyncio.to_thread(_missing, engine)
    for origin, seq in missing:
        current = trust.current
        if current is None or origin not in current.nodes or theirs.get(origin, 0) < seq:
            continue
        page = await client.records(peer.node_id, peer.url, origin=origin, after=seq - 1, limit=1)
        if page.records:
            applied = await asyncio.to_thread(apply, peer.node_id, origin, page.records, current)
            if applied.filled:
                logger.info("restored withheld %s seq %s from peer %s", origin, seq, peer.node_id)


def _missing(engine: Engine) -> list[tuple[str, int]]:
    with Session(engine) as session:
        return store.withheld(session, limit=PER_PULL)
