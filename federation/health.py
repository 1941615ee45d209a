"""How in step one node is with another: pure comparisons of two sets of heads.

A node's heads say, per origin, how far it holds that origin's log (``last_seq``) and the
set digest of what it holds. Two nodes *agree* on an origin when both numbers match: the
digest makes "same length, different content" (a fork, or a lost record) visible, which a
sequence number alone would not. The hub's worldwide view is built from these verdicts;
nothing here reads a clock, a database or the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

Head = tuple[int, str]  # (last_seq, digest) of one origin's log


class Verdict(StrEnum):
    SELF = "self"  # the node doing the comparing
    IN_SYNC = "in-sync"  # holds the same records of every origin, digests equal
    CATCHING_UP = "catching-up"  # reachable, one side still lacks records
    DIVERGED = "diverged"  # same length of some origin's log, different content
    ALARM = "alarm"  # evidence of equivocation by this node is held
    UNREACHABLE = "unreachable"  # the last pull failed
    UNKNOWN = "unknown"  # never contacted since this node started
    INACTIVE = "inactive"  # suspended or revoked in the roster: not pulled from


@dataclass(frozen=True)
class Comparison:
    """``behind``: records the other node lacks that we hold; ``ahead``: records it holds
    that we lack (what our next pull will fetch); ``diverged``: origins at equal length
    whose digests differ; ``agree``: origins where both numbers match."""

    behind: int
    ahead: int
    diverged: tuple[str, ...]
    agree: int
    compared: int

    @property
    def in_sync(self) -> bool:
        return self.behind == 0 and self.ahead == 0 and not self.diverged


def compare(mine: Mapping[str, Head], theirs: Mapping[str, Head]) -> Comparison:
    """Compare our heads with another node's, origin by origin (an origin missing on one
    side counts as held to seq 0 with the empty digest)."""
    behind = ahead = agree = 0
    diverged = []
    for origin in sorted(set(mine) | set(theirs)):
        my_seq, my_digest = mine.get(origin, (0, ""))
        their_seq, their_digest = theirs.get(origin, (0, ""))
        behind += max(0, my_seq - their_seq)
        ahead += max(0, their_seq - my_seq)
        if my_seq == their_seq:
            if my_digest == their_digest or my_seq == 0:
                agree += 1
            else:
                diverged.append(origin)
    return Comparison(behind, ahead, tuple(diverged), agree, len(set(mine) | set(theirs)))


@dataclass(frozen=True)
class Contact:
    """What the local sync state says of the last exchange with a peer."""

    last_attempt: datetime | None
    last_success: datetime | None
    failures: int


def verdict(
    *,
    active: bool,
    contact: Contact | None,
    comparison: Comparison | None,
    alarms: int,
) -> Verdict:
    """One word for a node's health, worst first: an equivocation alarm outranks every
    other state, because it means the node signed two different records at one seq."""
    if alarms:
        return Verdict.ALARM
    if not active:
        return Verdict.INACTIVE
    if contact is None or contact.last_attempt is None:
        return Verdict.UNKNOWN
    if contact.failures > 0:
        return Verdict.UNREACHABLE
    if comparison is None:
        return Verdict.UNKNOWN
    if comparison.diverged:
        return Verdict.DIVERGED
    return Verdict.IN_SYNC if comparison.in_sync else Verdict.CATCHING_UP


def seconds_since(then: datetime | None, now: datetime) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds())
