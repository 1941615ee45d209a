"""federation.merge: what a receiver does with a verified record. Pure: no DB, no HTTP.

Records are real sealed envelopes of one origin's hash chain, so ``incoming_hash`` and
``prev`` are the values a receiver would really compute and see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.envelopes import sealed

from federation.keys import from_seed, node_id_for
from federation.merge import Held, Tip, Verdict, merge
from federation.signing import header_hash

KEY = from_seed(bytes([42]) * 32)
ORIGIN = node_id_for(KEY.public_raw)
IDS = [
    "3f2b8c1e-7d4a-4e6b-9c15-2a8e6f0d4b71",
    "5c9a1e7f-2b4d-4f3a-a6e8-0d7b3c1f9e24",
    "b7e4d2a9-1c3f-4e5a-8b6d-9f0e2a4c6b81",
]
X, Y, Z = IDS


def body(record_id: str, version: int, tag: str = "") -> dict[str, Any]:
    return {
        "name": f"Member {record_id[:4]} v{version}{tag}",
        "kind": "hospital",
        "region": "europe",
        "country": "NL",
    }


def logged(
    seq: int,
    record_id: str,
    version: int,
    *,
    prev: str | None,
    deleted: bool = False,
    tag: str = "",
    issued_at: str = "2026-02-01T10:00:00Z",
) -> dict[str, Any]:
    content = None if deleted else body(record_id, version, tag)
    return sealed(
        KEY, ORIGIN, seq, prev, content, record_id=record_id, version=version, issued_at=issued_at
    )


def chain(ops: list[tuple[str, bool]], *, tag: str = "") -> list[dict[str, Any]]:
    """One origin's log: ``ops`` is (record id, deleted) per seq; versions count per id."""
    out: list[dict[str, Any]] = []
    versions: dict[str, int] = {}
    prev = None
    for seq, (record_id, deleted) in enumerate(ops, start=1):
        versions[record_id] = versions.get(record_id, 0) + 1
        env = logged(seq, record_id, versions[record_id], prev=prev, deleted=deleted, tag=tag)
        out.append(env)
        prev = header_hash(env["record"])
    return out


def as_stub(env: dict[str, Any]) -> dict[str, Any]:
    return {**env, "body": None}


def h(env: dict[str, Any]) -> str:
    return header_hash(env["record"])


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


EMPTY = Tip(0, None)
LOG = chain([(X, False), (Y, False), (X, False), (Z, False), (X, True), (Y, False)])
# seq:        1 X v1       2 Y v1       3 X v2       4 Z v1       5 X v3 del  6 Y v2


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


# --------------------------------------------------------------------------- scenarios


def test_no_rollback_by_replay_after_a_tombstone() -> None:
    """X v1 (seq 1), X v2 deleted (seq 2), then a re-signed X v1 (seq 3): X stays deleted."""
    log = chain([(X, False), (X, True)])
    stale = logged(3, X, 1, prev=h(log[1]), tag=" again")
    receiver = Receiver()
    assert [receiver.offer(e) for e in [*log, stale]] == [
        Verdict.APPLY,
        Verdict.APPLY,
        Verdict.HISTORY,
    ]
    assert receiver.directory == {X: (2, True, h(log[1]))}
    assert receiver.tip == Tip(3, h(stale))  # the log stays dense


def test_replaying_old_envelopes_is_a_duplicate() -> None:
    receiver = Receiver()
    for env in LOG:
        receiver.offer(env)
    before = dict(receiver.directory)
    for env in LOG:
        assert receiver.offer(env) is Verdict.DUPLICATE
        assert receiver.offer(as_stub(env)) is Verdict.DUPLICATE
    assert receiver.directory == before


def test_withheld_version_stays_a_stub_until_superseded() -> None:
    log = chain([(X, False), (X, False), (X, False)])
    receiver = Receiver()
    assert receiver.offer(log[0]) is Verdict.APPLY
    assert receiver.offer(as_stub(log[1])) is Verdict.STUB
    assert receiver.directory[X][0] == 1  # the stub does not replace v1's content
    assert receiver.offer(log[2]) is Verdict.APPLY
    assert receiver.directory[X][0] == 3


# --------------------------------------------------------------------------- the property


@dataclass
class Receiver:
    """A receiver's state for one origin, as node.sync.ingest keeps it, without a database."""

    tip: Tip = EMPTY
    log: dict[int, str] = field(default_factory=dict)  # seq -> header hash
    held: dict[str, Held] = field(default_factory=dict)  # id -> highest version stored
    directory: dict[str, tuple[int, bool, str]] = field(default_factory=dict)  # current
    applied_order: list[int] = field(default_factory=list)

    def offer(self, env: dict[str, Any]) -> Verdict:
        header = env["record"]
        seq, rid, incoming = header["seq"], header["id"], h(env)
        v = merge(
            header,
            env["body"],
            incoming_hash=incoming,
            tip=self.tip,
            held_at_seq=self.log.get(seq),
            current=self.held.get(rid),
            claimed_by=None,
        )
        if v in (Verdict.APPLY, Verdict.HISTORY, Verdict.STUB):
            self.log[seq] = incoming
            self.tip = Tip(seq, incoming)
            self.applied_order.append(seq)
            known = self.held.get(rid)
            if known is None or header["version"] > known.version:
                self.held[rid] = Held(header["version"], incoming)
            if v is Verdict.APPLY:
                self.directory[rid] = (header["version"], header["deleted"], incoming)
        return v


@st.composite
def served_logs(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A valid chain as a peer serves it: superseded versions may come as stubs, and the
    newest version of a record may be withheld (a stub)."""
    ops = draw(st.lists(st.tuples(st.sampled_from(IDS), st.booleans()), min_size=1, max_size=10))
    log = chain(ops)
    served = []
    for i, env in enumerate(log):
        rid = env["record"]["id"]
        superseded = any(later["record"]["id"] == rid for later in log[i + 1 :])
        stub_it = env["body"] is not None and draw(
            st.booleans() if not superseded else st.sampled_from([True, True, False])
        )
        served.append(as_stub(env) if stub_it else env)
    return served


def in_order(log: list[dict[str, Any]], upto: int | None = None) -> Receiver:
    receiver = Receiver()
    for env in log[:upto]:
        receiver.offer(env)
    return receiver


FAST = settings(max_examples=150, deadline=None)


@FAST
@given(served_logs())
def test_a_valid_chain_in_order_never_gaps_or_equivocates(log: list[dict[str, Any]]) -> None:
    receiver = Receiver()
    verdicts = [receiver.offer(env) for env in log]
    assert set(verdicts) <= {Verdict.APPLY, Verdict.STUB}
    assert receiver.tip == Tip(len(log), h(log[-1]))
    for env, v in zip(log, verdicts, strict=True):
        full = env["body"] is not None or env["record"]["deleted"]
        assert (v is Verdict.APPLY) == full
    # the directory holds, per id, the newest version that came with its content
    for rid in IDS:
        full = [
            e
            for e in log
            if e["record"]["id"] == rid and (e["body"] is not None or e["record"]["deleted"])
        ]
        if full:
            newest = full[-1]["record"]
            assert receiver.directory[rid][:2] == (newest["version"], newest["deleted"])
        else:
            assert rid not in receiver.directory


@FAST
@given(served_logs().flatmap(lambda log: st.tuples(st.just(log), st.permutations(log))))
def test_one_pass_in_any_order_applies_only_a_prefix(
    case: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    """Delivered once each, in any order: a record is taken only if it extends the tip
    (everything else is a gap), so the state is always that of an in-order prefix."""
    log, shuffled = case
    receiver = Receiver()
    for env in shuffled:
        before = receiver.tip.seq
        v = receiver.offer(env)
        seq = env["record"]["seq"]
        if seq == before + 1:
            assert v in (Verdict.APPLY, Verdict.STUB)
        else:
            assert v is Verdict.GAP
            assert receiver.tip.seq == before
        assert receiver.applied_order == list(range(1, receiver.tip.seq + 1))
    reference = in_order(log, receiver.tip.seq)
    assert receiver.directory == reference.directory
    assert receiver.tip == reference.tip


@FAST
@given(
    served_logs().flatmap(
        lambda log: st.tuples(
            st.just(log),
            st.permutations(log),
            st.lists(st.integers(0, len(log) - 1), max_size=6),
        )
    )
)
def test_redelivery_in_any_order_converges_to_the_in_order_state(
    case: tuple[list[dict[str, Any]], list[dict[str, Any]], list[int]],
) -> None:
    """A receiver that keeps gapped records and retries them (and sees some twice) ends
    with exactly the in-order directory, never applying out of order."""
    log, shuffled, repeats = case
    stream = shuffled + [log[i] for i in repeats]
    receiver = Receiver()
    pending: list[dict[str, Any]] = []
    for env in stream:
        pending.append(env)
        progress = True
        while progress:
            progress = False
            for waiting in list(pending):
                v = receiver.offer(waiting)
                assert v is not Verdict.EQUIVOCATION
                if v is not Verdict.GAP:
                    pending.remove(waiting)
                    progress = progress or v is not Verdict.DUPLICATE
    assert pending == []
    reference = in_order(log)
    assert receiver.directory == reference.directory
    assert receiver.tip == reference.tip
    assert receiver.applied_order == list(range(1, len(log) + 1))


@FAST
@given(
    served_logs(),
    st.integers(0, 9),
    st.permutations(range(12)),
)
def test_a_fork_never_changes_a_receiver_that_holds_the_chain(
    log: list[dict[str, Any]], fork_at: int, order: list[int]
) -> None:
    """After the genuine chain, a second history of the same origin (same key, diverging at
    any seq, possibly longer) is refused record by record as equivocation or gap."""
    fork_at = min(fork_at, len(log) - 1)
    ops = [(e["record"]["id"], e["record"]["deleted"]) for e in log]
    ops += [(X, False)] * 2  # the fork is two records longer
    forked = chain(ops[:fork_at])  # the shared prefix: the very same headers
    prev = h(forked[-1]) if forked else None
    versions: dict[str, int] = {}
    for env in forked:
        versions[env["record"]["id"]] = env["record"]["version"]
    for seq in range(fork_at + 1, len(ops) + 1):
        rid, deleted = ops[seq - 1]
        versions[rid] = versions.get(rid, 0) + 1
        env = logged(
            seq, rid, versions[rid], prev=prev, deleted=deleted, issued_at="2026-03-01T00:00:00Z"
        )
        forked.append(env)
        prev = h(env)
    receiver = in_order(log)
    before = (receiver.tip, dict(receiver.directory), dict(receiver.held))
    for i in order:
        if i >= len(forked):
            continue
        env = forked[i]
        v = receiver.offer(env)
        if i < fork_at:
            assert v is Verdict.DUPLICATE  # the shared prefix
        else:
            assert v in (Verdict.EQUIVOCATION, Verdict.GAP)
    assert (receiver.tip, receiver.directory, receiver.held) == before
