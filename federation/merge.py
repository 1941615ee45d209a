"""Merge rules: what a receiver does with a verified record. Pure and total.

Each origin's log is a hash chain (``prev``). A receiver holds a dense prefix of it, up to
``tip``. An incoming record is placed against that prefix first, then against the record
id's current version:

- the record id already belongs to another origin: **foreign**; an origin can never take
  over, replace or delete another origin's record (quarantined as out of scope).
- seq already held: the same header is a duplicate; a different one is **equivocation**
  (the origin signed two records for one seq): keep the first, quarantine the second.
- seq beyond tip + 1: a **gap**; nothing after it can be applied until it is filled.
- seq == tip + 1 but ``prev`` is not the tip's hash: the origin signed two histories,
  **equivocation**.
- same record id and version as any version held (current or older), different header:
  **equivocation** (the origin signed two versions with one number).
- lower version than held: kept as **history** (the log must stay dense) but never made
  current, so replaying an old version cannot roll a record back.
- a body-less, non-deleted record (a stub) newer than held: **stub**; stored as history,
  and reported as withheld if no full version ever supersedes it.
- otherwise: **apply**, replacing the current version (a tombstone removes the record and
  is kept, so a stale copy cannot bring it back).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    APPLY = "apply"
    HISTORY = "history"
    STUB = "stub"
    DUPLICATE = "duplicate"
    GAP = "gap"
    EQUIVOCATION = "equivocation"
    FOREIGN = "foreign"


@dataclass(frozen=True)
class Tip:
    """The receiver's dense prefix of one origin's log."""

    seq: int
    head: str | None  # header hash at ``seq``; None when nothing is held


@dataclass(frozen=True)
class Held:
    """What the receiver holds of one record id from the incoming origin: its current
    version and header hash, and the numbers of the older versions it keeps as stubs
    (history counts, so an old version number can never be signed a second time)."""

    version: int
    header_hash: str
    older: frozenset[int] = frozenset()


def merge(
    header: Mapping[str, Any],
    body: Mapping[str, Any] | None,
    *,
    incoming_hash: str,
    tip: Tip,
    held_at_seq: str | None,
    current: Held | None,
    claimed_by: str | None,
) -> Verdict:
    """Place one verified record. ``claimed_by`` is the other origin that already holds
    ``header["id"]``, if any; every other input describes the incoming origin's log."""
    if claimed_by is not None and claimed_by != header["origin"]:
        return Verdict.FOREIGN
    seq = int(header["seq"])
    if seq <= tip.seq:
        return Verdict.DUPLICATE if held_at_seq == incoming_hash else Verdict.EQUIVOCATION
    if seq != tip.seq + 1:
        return Verdict.GAP
    if header["prev"] != tip.head:
        return Verdict.EQUIVOCATION
    version = int(header["version"])
    if current is not None:
        if version == current.version:
            return (
                Verdict.DUPLICATE if current.header_hash == incoming_hash else Verdict.EQUIVOCATION
            )
        if version in current.older:
            return Verdict.EQUIVOCATION
        if version < current.version:
            return Verdict.HISTORY
    if body is None and not header["deleted"]:
        return Verdict.STUB
    return Verdict.APPLY
