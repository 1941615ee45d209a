"""The two rules ingest used to decide after merge, now merge's own: another origin's
record id is never taken over, and a version number held as history is never reused."""

from __future__ import annotations

from typing import Any

import pytest

from federation.keys import from_seed, node_id_for
from federation.merge import Held, Tip, Verdict, merge
from federation.signing import header_hash, seal

KEY = from_seed(bytes([7]) * 32)
ORIGIN = node_id_for(KEY.public_raw)
OTHER = node_id_for(from_seed(bytes([8]) * 32).public_raw)
RID = "5c9a1e7f-2b4d-4f3a-a6e8-0d7b3c1f9e24"


def record(seq: int, version: int, *, prev: str | None) -> dict[str, Any]:
    return seal(
        key=KEY,
        origin=ORIGIN,
        seq=seq,
        record_id=RID,
        kind="member",
        version=version,
        issued_at="2026-02-01T10:00:00Z",
        body={"name": f"v{version}", "kind": "hospital", "region": "europe", "country": "NL"},
        prev=prev,
    )


def place(env: dict[str, Any], *, tip: Tip, current: Held | None, claimed_by: str | None) -> Any:
    return merge(
        env["record"],
        env["body"],
        incoming_hash=header_hash(env["record"]),
        tip=tip,
        held_at_seq=None,
        current=current,
        claimed_by=claimed_by,
    )


@pytest.mark.parametrize("seq", [1, 2, 5])
def test_an_id_another_origin_holds_is_foreign_wherever_it_falls(seq: int) -> None:
    env = record(seq, 1, prev=None)
    assert place(env, tip=Tip(seq - 1, None), current=None, claimed_by=OTHER) is Verdict.FOREIGN


def test_the_origin_claiming_its_own_id_is_not_foreign() -> None:
    env = record(1, 1, prev=None)
    assert place(env, tip=Tip(0, None), current=None, claimed_by=ORIGIN) is Verdict.APPLY


def test_a_version_number_held_as_history_cannot_be_signed_again() -> None:
    first = record(1, 1, prev=None)
    tip = Tip(1, header_hash(first["record"]))
    again = record(2, 1, prev=tip.head)  # version 1 once more, with another header
    held = Held(3, "sha256:" + "C" * 43, older=frozenset({1, 2}))
    assert place(again, tip=tip, current=held, claimed_by=None) is Verdict.EQUIVOCATION
    # a lower version that was never held is still history, not equivocation
    held_gap = Held(3, "sha256:" + "C" * 43, older=frozenset({2}))
    assert place(again, tip=tip, current=held_gap, claimed_by=None) is Verdict.HISTORY
