"""federation.merge over whole logs: a receiver's state in worked scenarios and in
hypothesis properties (in order, shuffled, redelivered, forked) (rule by rule:
test_merge). Pure: no DB, no HTTP.

Records are real sealed envelopes of one origin's hash chain (tests/support/origin_log.py),
so ``incoming_hash`` and ``prev`` are the values a receiver would really compute and see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from support.origin_log import EMPTY, IDS, LOG, X, as_stub, chain, h, logged

from federation.merge import Held, Tip, Verdict, merge

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
