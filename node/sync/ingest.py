"""Applying a page of records received from a peer: verify, merge, store. One transaction.

Records arrive per origin in sequence order. Each one is checked in full before it can be
stored (shape, roster key for that origin and seq, signature, body hash, scope, body
schema), then placed by ``federation.merge``. The page stops at the first record that
cannot extend the origin's chain (bad, gap, equivocation): everything before it is kept
and committed together with the new tip, nothing after it is stored, and the refused
record is quarantined with the reason and the peer it came from. The next pull resumes
from the committed tip, possibly from another peer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from federation.canonical import sha256_tag
from federation.checks import Checked, check_page
from federation.merge import Tip, Verdict, merge
from federation.trust import Trust
from node.db import log, quarantine, store
from node.db.session import Session

logger = logging.getLogger(__name__)


@dataclass
class PageResult:
    applied: int = 0
    history: int = 0
    duplicates: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    stopped: str | None = None  # why the page was cut short, if it was
    withheld: list[int] = field(default_factory=list)  # stubs newer than anything held
    filled: int = 0  # withheld bodies restored
    tip: int = 0
    roster_changed: bool = False


@dataclass(frozen=True)
class _Passed:
    """A record of the page that passed every check, with the canonical bytes checked."""

    raw: dict[str, Any]
    header_bytes: bytes
    body_bytes: bytes | None

    @property
    def header(self) -> dict[str, Any]:
        header: dict[str, Any] = self.raw["record"]
        return header


def ingest_page(
    session: Session,
    *,
    origin: str,
    records: Sequence[Any],
    trust: Trust,
    peer: str,
    now: str,
    on_reject: Callable[[str], None] = lambda reason: None,
    pool: Executor | None = None,
    checked: Checked | None = None,
) -> PageResult:
    """Verify and apply one page. The caller commits (records, tip and quarantine at once).

    ``pool`` runs the signature checks alongside the rest (None: in this thread).
    ``checked`` is the verdict on exactly these records under ``trust``, when it was
    computed already (``node.sync.verifier_pool``, in another process); else it is
    computed here.
    """
    result = PageResult()
    tip = log.tip(session, origin=origin)
    if checked is None:
        checked = check_page(records, trust, origin, pool)
    candidates = [
        _Passed(raw, header_bytes, body_bytes)
        for raw, (header_bytes, body_bytes) in zip(records, checked.passed, strict=False)
    ]
    held = log.holdings(session, origin=origin, record_ids=(c.header["id"] for c in candidates))
    current: list[store.Prepared] = []
    history: list[store.Prepared] = []
    fills: list[_Passed] = []
    stop: tuple[Any, str, str, str | None] | None = None
    for candidate in candidates:
        header, body = candidate.header, candidate.raw["body"]
        incoming = sha256_tag(candidate.header_bytes)
        held_at = (
            log.header_hash_at(session, origin=origin, seq=header["seq"])
            if header["seq"] <= tip.seq
            else None
        )
        verdict = merge(
            header,
            body,
            incoming_hash=incoming,
            tip=tip,
            held_at_seq=held_at,
            current=held.current(header["id"]),
            claimed_by=held.foreign.get(header["id"]),
        )
        if verdict is Verdict.FOREIGN:
            owner = held.foreign[header["id"]]
            detail = f"id {header['id']} belongs to origin {owner}"
            stop = (candidate.raw, "OutOfScope", detail, None)
            break
        if verdict is Verdict.DUPLICATE and body is not None and header["seq"] <= tip.seq:
            fills.append(candidate)
        if verdict is Verdict.DUPLICATE:
            result.duplicates += 1
            continue
        if verdict in (Verdict.GAP, Verdict.EQUIVOCATION):
            evidence = (
                log.conflicting(session, origin=origin, header=header)
                if verdict is Verdict.EQUIVOCATION
                else None
            )
            stop = (candidate.raw, verdict.value, f"tip {tip.seq}", evidence)
            if verdict is Verdict.EQUIVOCATION:
                logger.warning(
                    "equivocation by %s at seq %s via peer %s", origin, header["seq"], peer
                )
            break
        header_text = candidate.header_bytes.decode("utf-8")
        if verdict is Verdict.APPLY:
            body_text = (
                None if candidate.body_bytes is None else candidate.body_bytes.decode("utf-8")
            )
            current.append(store.Prepared(candidate.raw, header_text, body_text))
            held.versions.setdefault(header["id"], {})[header["version"]] = incoming
            result.applied += 1
            result.roster_changed = result.roster_changed or header["kind"] == "roster"
        else:  # HISTORY or STUB: keeps the log dense, never changes the directory
            history.append(store.Prepared({**candidate.raw, "body": None}, header_text, None))
            held.versions.setdefault(header["id"], {})[header["version"]] = incoming
            result.history += 1
            if verdict is Verdict.STUB:
                result.withheld.append(header["seq"])
        tip = Tip(header["seq"], incoming)
    if stop is None and checked.failure is not None:
        reason, detail = checked.failure
        stop = (records[len(checked.passed)], reason, detail, None)
    if stop is not None:
        raw, reason, detail, evidence = stop
        quarantine.add(
            session, raw, peer=peer, now=now, reason=reason, detail=detail, evidence=evidence
        )
        result.rejected[reason] = result.rejected.get(reason, 0) + 1
        result.stopped = f"{reason} at seq {_seq(raw)}"
        on_reject(reason)
    store.apply(session, current, history=history, received_at=now)
    result.filled = _fill(session, origin, fills, received_at=now)
    result.tip = tip.seq
    return result


def _fill(session: Session, origin: str, candidates: list[_Passed], *, received_at: str) -> int:
    """Bodies for stubs that were withheld: a full copy of a header already held as a stub
    (from an honest peer) restores the record if that stub is still its newest version."""
    # A hostile page may repeat a record: restore each seq once (else one id is projected
    # twice in one statement, which the directory's unique id refuses).
    once = {c.header["seq"]: c for c in candidates}  # same header: the same body
    restored = [
        store.Prepared(c.raw, c.header_bytes.decode("utf-8"), c.body_bytes.decode("utf-8"))
        for c in once.values()
        if c.body_bytes
        and log.restorable(
            session,
            origin=origin,
            seq=c.header["seq"],
            record_id=c.header["id"],
            version=c.header["version"],
        )
    ]
    store.fill(session, restored, received_at=received_at)
    return len(restored)


def _seq(raw: Any) -> Any:
    try:
        return raw["record"]["seq"]
    except (KeyError, TypeError):
        return "?"
