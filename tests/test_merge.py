"""federation.merge: what a receiver does with one verified record, rule by rule (whole
logs, scenarios and properties: test_merge_receiver). Pure: no DB, no HTTP.

Records are real sealed envelopes of one origin's hash chain (tests/support/origin_log.py),
so ``incoming_hash`` and ``prev`` are the values a receiver would really compute and see.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.origin_log import EMPTY, LOG, X, Y, as_stub, chain, h, logged

from federation.merge import Held, Tip, Verdict, merge


def verdict(
    env: dict[str, Any],
    *,
    tip: Tip,
    held_at_seq: str | None = None,
    current: Held | None = None,
    body: Any = "as-is",
) -> Verdict:
    return merge(
        env["record"],
        env["body"] if body == "as-is" else body,
        incoming_hash=h(env),
        tip=tip,
        held_at_seq=held_at_seq,
        current=current,
        claimed_by=None,
    )


def tip_at(seq: int) -> Tip:
    return EMPTY if seq == 0 else Tip(seq, h(LOG[seq - 1]))


# --------------------------------------------------------------------------- first record


def test_first_record_of_an_origin_applies() -> None:
    assert verdict(LOG[0], tip=EMPTY) is Verdict.APPLY


def test_first_record_as_stub_is_a_stub() -> None:
    assert verdict(as_stub(LOG[0]), tip=EMPTY) is Verdict.STUB


def test_first_record_as_tombstone_applies() -> None:
    first = logged(1, X, 1, prev=None, deleted=True)
    assert verdict(first, tip=EMPTY) is Verdict.APPLY


def test_first_record_with_a_prev_is_equivocation() -> None:
    bad = logged(1, X, 1, prev=h(LOG[0]))
    assert verdict(bad, tip=EMPTY) is Verdict.EQUIVOCATION


@pytest.mark.parametrize("seq", [2, 3, 6])
def test_nothing_held_and_seq_beyond_1_is_a_gap(seq: int) -> None:
    assert verdict(LOG[seq - 1], tip=EMPTY) is Verdict.GAP


# --------------------------------------------------------------------------- seq <= tip


@pytest.mark.parametrize("tip_seq", [1, 3, 6])
def test_held_seq_same_header_is_duplicate(tip_seq: int) -> None:
    for seq in range(1, tip_seq + 1):
        env = LOG[seq - 1]
        assert verdict(env, tip=tip_at(tip_seq), held_at_seq=h(env)) is Verdict.DUPLICATE
        # a stub of it is the same header: still a duplicate, not evidence
        assert verdict(as_stub(env), tip=tip_at(tip_seq), held_at_seq=h(env)) is Verdict.DUPLICATE


def test_held_seq_different_header_is_equivocation() -> None:
    fork = chain([(X, False), (Y, False), (X, False)], tag=" forked")
    for seq in (1, 2, 3):
        assert fork[seq - 1]["record"]["seq"] == seq
        got = verdict(fork[seq - 1], tip=tip_at(6), held_at_seq=h(LOG[seq - 1]))
        assert got is Verdict.EQUIVOCATION


def test_held_seq_without_a_held_hash_is_not_a_duplicate() -> None:
    assert verdict(LOG[0], tip=tip_at(3), held_at_seq=None) is Verdict.EQUIVOCATION


def test_seq_at_or_below_tip_wins_over_every_version_rule() -> None:
    """Even a record that would otherwise apply (newer version) is judged as a held seq."""
    env = LOG[2]  # X v2, seq 3
    older = Held(1, h(LOG[0]))
    assert verdict(env, tip=tip_at(3), held_at_seq=h(env), current=older) is Verdict.DUPLICATE
    assert verdict(env, tip=tip_at(4), held_at_seq="sha256:x", current=older) is (
        Verdict.EQUIVOCATION
    )


# --------------------------------------------------------------------------- gap


@pytest.mark.parametrize(("tip_seq", "seq"), [(0, 2), (1, 3), (2, 6), (3, 5)])
def test_seq_beyond_tip_plus_one_is_a_gap(tip_seq: int, seq: int) -> None:
    env = LOG[seq - 1]
    assert verdict(env, tip=tip_at(tip_seq)) is Verdict.GAP
    # whatever the version state: the gap is decided first
    assert verdict(env, tip=tip_at(tip_seq), current=Held(99, "sha256:z")) is Verdict.GAP
    assert verdict(as_stub(env), tip=tip_at(tip_seq)) is Verdict.GAP


def test_gap_is_decided_before_the_prev_link() -> None:
    unrelated = logged(5, X, 1, prev="sha256:" + "Q" * 43)
    assert verdict(unrelated, tip=tip_at(2)) is Verdict.GAP


# --------------------------------------------------------------------------- prev


def test_next_seq_with_the_wrong_prev_is_equivocation() -> None:
    fork = chain([(X, False), (Y, False), (X, False)], tag=" forked")
    # fork seq 3 links to the fork's seq 2, not to what we hold
    assert verdict(fork[2], tip=tip_at(2)) is Verdict.EQUIVOCATION
    # the genuine seq 3 links to our seq 2
    assert verdict(LOG[2], tip=tip_at(2), current=Held(1, h(LOG[0]))) is Verdict.APPLY


def test_next_seq_with_null_prev_after_a_head_is_equivocation() -> None:
    env = logged(2, Y, 1, prev=None)
    assert verdict(env, tip=tip_at(1)) is Verdict.EQUIVOCATION


def test_prev_is_checked_before_the_version() -> None:
    env = logged(3, X, 1, prev="sha256:" + "Q" * 43)  # would be a duplicate version too
    assert verdict(env, tip=tip_at(2), current=Held(1, h(env))) is Verdict.EQUIVOCATION


# --------------------------------------------------------------------------- versions


def test_same_version_same_hash_is_duplicate() -> None:
    env = LOG[2]  # X v2 at seq 3
    assert verdict(env, tip=tip_at(2), current=Held(2, h(env))) is Verdict.DUPLICATE


def test_same_version_different_hash_is_equivocation() -> None:
    env = LOG[2]  # X v2 at seq 3; the receiver holds another X v2 (from another seq)
    assert verdict(env, tip=tip_at(2), current=Held(2, "sha256:" + "B" * 43)) is (
        Verdict.EQUIVOCATION
    )
    # also for a stub or a tombstone of that same version
    assert verdict(as_stub(env), tip=tip_at(2), current=Held(2, "sha256:x")) is (
        Verdict.EQUIVOCATION
    )
    tomb = logged(3, X, 2, prev=h(LOG[1]), deleted=True)
    assert verdict(tomb, tip=tip_at(2), current=Held(2, "sha256:x")) is Verdict.EQUIVOCATION


@pytest.mark.parametrize("held", [2, 3, 10])
@pytest.mark.parametrize("form", ["full", "stub", "tombstone"])
def test_lower_version_is_history_never_current(held: int, form: str) -> None:
    """Replaying an older version, in any form, cannot roll the record back."""
    env = logged(3, X, 1, prev=h(LOG[1]), deleted=form == "tombstone")
    if form == "stub":
        env = as_stub(env)
    assert verdict(env, tip=tip_at(2), current=Held(held, "sha256:c")) is Verdict.HISTORY


@pytest.mark.parametrize(("held", "version"), [(None, 1), (None, 5), (1, 2), (1, 7), (6, 7)])
def test_newer_full_version_applies(held: int | None, version: int) -> None:
    env = logged(3, X, version, prev=h(LOG[1]))
    current = None if held is None else Held(held, "sha256:c")
    assert verdict(env, tip=tip_at(2), current=current) is Verdict.APPLY


@pytest.mark.parametrize(("held", "version"), [(None, 1), (None, 5), (1, 2), (6, 7)])
def test_newer_stub_is_stub(held: int | None, version: int) -> None:
    env = as_stub(logged(3, X, version, prev=h(LOG[1])))
    current = None if held is None else Held(held, "sha256:c")
    assert verdict(env, tip=tip_at(2), current=current) is Verdict.STUB


@pytest.mark.parametrize(("held", "version"), [(None, 1), (1, 2), (6, 7)])
def test_newer_tombstone_applies(held: int | None, version: int) -> None:
    env = logged(3, X, version, prev=h(LOG[1]), deleted=True)
    assert env["body"] is None
    current = None if held is None else Held(held, "sha256:c")
    assert verdict(env, tip=tip_at(2), current=current) is Verdict.APPLY


def test_stub_is_decided_by_the_body_and_the_deleted_flag() -> None:
    env = logged(3, X, 2, prev=h(LOG[1]))
    header = env["record"]
    kw: dict[str, Any] = {
        "incoming_hash": h(env),
        "tip": tip_at(2),
        "held_at_seq": None,
        "current": None,
        "claimed_by": None,
    }
    assert merge(header, env["body"], **kw) is Verdict.APPLY
    assert merge(header, None, **kw) is Verdict.STUB
    assert merge({**header, "deleted": True}, None, **kw) is Verdict.APPLY


def test_merge_is_total_over_the_worked_log() -> None:
    """In order, a receiver applies the whole log; stubs of superseded versions are STUB."""
    expected = [Verdict.APPLY] * 6
    got = []
    tip, held = EMPTY, {}
    for env in LOG:
        rid = env["record"]["id"]
        got.append(verdict(env, tip=tip, current=held.get(rid)))
        tip, held[rid] = Tip(env["record"]["seq"], h(env)), Held(env["record"]["version"], h(env))
    assert got == expected
