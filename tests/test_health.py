"""federation.health: pure comparisons of heads and the one-word verdict per node."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from federation.health import Comparison, Contact, Verdict, compare, seconds_since, verdict

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
D1, D2 = "a" * 64, "b" * 64

heads = st.dictionaries(
    st.sampled_from(["hn-a", "hn-b", "hn-c", "hn-d"]),
    st.tuples(st.integers(0, 50), st.sampled_from([D1, D2])),
    max_size=4,
)


def test_identical_heads_agree_everywhere() -> None:
    mine = {"hn-a": (3, D1), "hn-b": (7, D2)}
    c = compare(mine, dict(mine))
    assert c == Comparison(behind=0, ahead=0, diverged=(), agree=2, compared=2)
    assert c.in_sync


def test_lengths_count_behind_and_ahead_per_origin() -> None:
    c = compare({"hn-a": (5, D1), "hn-b": (2, D1)}, {"hn-a": (3, D2), "hn-b": (6, D2)})
    assert (c.behind, c.ahead, c.diverged, c.agree) == (2, 4, (), 0)
    assert not c.in_sync


def test_an_origin_missing_on_one_side_counts_from_zero() -> None:
    c = compare({"hn-a": (4, D1)}, {"hn-b": (1, D2)})
    assert (c.behind, c.ahead, c.compared) == (4, 1, 2)


def test_equal_length_with_different_digests_is_divergence() -> None:
    c = compare({"hn-a": (4, D1), "hn-b": (1, D1)}, {"hn-a": (4, D2), "hn-b": (1, D1)})
    assert c.diverged == ("hn-a",) and c.agree == 1 and not c.in_sync


def test_an_empty_log_agrees_whatever_its_digest_text() -> None:
    assert compare({"hn-a": (0, D1)}, {}).in_sync


@given(heads, heads)
def test_compare_is_antisymmetric(
    a: dict[str, tuple[int, str]], b: dict[str, tuple[int, str]]
) -> None:
    ab, ba = compare(a, b), compare(b, a)
    assert (ab.behind, ab.ahead) == (ba.ahead, ba.behind)
    assert ab.diverged == ba.diverged and ab.agree == ba.agree
    assert ab.in_sync == (a == b or _same_but_empty(a, b))


def _same_but_empty(a: dict[str, tuple[int, str]], b: dict[str, tuple[int, str]]) -> bool:
    keys = set(a) | set(b)
    return all(
        a.get(k, (0, ""))[0] == b.get(k, (0, ""))[0]
        and (a.get(k, (0, ""))[0] == 0 or a[k][1] == b[k][1])
        for k in keys
    )


OK = Contact(T0, T0, 0)
SYNCED = compare({"hn-a": (1, D1)}, {"hn-a": (1, D1)})
LAGGING = compare({"hn-a": (2, D1)}, {"hn-a": (1, D1)})
FORKED = compare({"hn-a": (2, D1)}, {"hn-a": (2, D2)})


def test_verdicts_worst_first() -> None:
    def v(**kw: object) -> Verdict:
        args: dict[str, object] = dict(active=True, contact=OK, comparison=SYNCED, alarms=0)
        args.update(kw)
        return verdict(**args)  # type: ignore[arg-type]

    assert v() is Verdict.IN_SYNC
    assert v(comparison=LAGGING) is Verdict.CATCHING_UP
    assert v(comparison=FORKED) is Verdict.DIVERGED
    assert v(comparison=None) is Verdict.UNKNOWN
    assert v(contact=None) is Verdict.UNKNOWN
    assert v(contact=Contact(None, None, 0)) is Verdict.UNKNOWN
    assert v(contact=Contact(T0, None, 2)) is Verdict.UNREACHABLE
    assert v(contact=Contact(T0, None, 2), comparison=FORKED) is Verdict.UNREACHABLE
    assert v(active=False) is Verdict.INACTIVE
    # An equivocation alarm outranks everything, even a suspended or unreachable node.
    assert v(alarms=1, active=False, contact=None) is Verdict.ALARM


def test_seconds_since() -> None:
    assert seconds_since(None, T0) is None
    assert seconds_since(T0, T0 + timedelta(seconds=90)) == 90.0
    assert seconds_since(T0 + timedelta(seconds=5), T0) == 0.0  # a clock step back: never negative
