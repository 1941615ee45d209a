"""This node's word on the logs it holds: its checkpoint cosignatures, signed when asked.

A cosignature (federation.witness) says "I hold this origin's log at this size with this
head". Signing one for each origin held costs about 20 µs, so a node signs them fresh for
each ``GET /federation/checkpoints`` and each export instead of storing them: what it
serves is always what it holds now, and nothing is kept that could go stale.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from federation.keys import SigningKey
from federation.trust import Trust
from federation.witness import Checkpoint, cosign
from node.db import cosignatures, log
from node.db.session import Session
from schemas.instants import format_utc


def own_statements(
    session: Session, *, me: str, key: SigningKey, now: datetime, trust: Trust | None
) -> list[dict[str, Any]]:
    """This node's cosignatures of every origin it holds, signed now: the state it holds
    of each log, as it would swear to it. Signing 64 origins costs about a millisecond,
    so the statements are made when asked instead of stored."""
    time = format_utc(now)
    out = []
    for summary in log.summaries(session):
        if summary.origin == me or summary.last_seq < 1 or summary.head is None:
            continue
        if trust is not None and summary.origin not in trust.nodes:
            continue
        cp = Checkpoint(summary.origin, summary.last_seq, summary.head)
        out.append(cosign(key, witness=me, checkpoint=cp, time=time).statement())
    return out




def served(
    session: Session, *, me: str, key: SigningKey, now: datetime, trust: Trust | None
) -> list[dict[str, Any]]:
    """What ``GET /federation/checkpoints`` serves: this node's statements, signed now,
    then every other witness's newest statement held (each verified when it came in), so
    that statements travel on to nodes that do not pull from their witness directly."""
    mine = own_statements(session, me=me, key=key, now=now, trust=trust)
    others = [c.statement() for c in cosignatures.held(session) if c.witness != me]
    return mine + others
