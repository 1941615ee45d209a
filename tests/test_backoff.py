"""federation.backoff: per-peer retry timing. Pure: the clock and the jitter are arguments."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation.backoff import BASE_SECONDS, CAP_SECONDS, delay, due, next_attempt

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
JITTER = st.floats(0.0, 1.0, exclude_max=True)
# Jitter values up to just below 1 (see test_delay_below_ceiling_for_the_largest_jitter).
SAFE_JITTER = st.floats(0.0, 1.0 - 2**-40)


def ceiling(failures: int, base: float = BASE_SECONDS, cap: float = CAP_SECONDS) -> float:
    """The documented ceiling, computed independently: base doubled per failure, capped."""
    if failures <= 0:
        return 0.0
    value = base
    for _ in range(failures - 1):
        value *= 2
        if value >= cap:
            return cap
    return min(cap, value)


def test_defaults() -> None:
    assert BASE_SECONDS == 5.0
    assert CAP_SECONDS == 3600.0


@pytest.mark.parametrize("failures", [0, -1, -100])
@pytest.mark.parametrize("jitter", [0.0, 0.5, 0.999])
def test_no_failure_means_no_delay(failures: int, jitter: float) -> None:
    assert delay(failures, jitter) == 0.0


@pytest.mark.parametrize(
    ("failures", "ceil"),
    [
        (1, 5.0),
        (2, 10.0),
        (3, 20.0),
        (4, 40.0),
        (8, 640.0),
        (10, 2560.0),
        (11, 3600.0),  # 5 * 2**10 = 5120 > cap
        (12, 3600.0),
        (31, 3600.0),
        (32, 3600.0),
        (1000, 3600.0),
        (10**9, 3600.0),  # no overflow for absurd counts
    ],
)
def test_ceiling_table(failures: int, ceil: float) -> None:
    assert ceiling(failures) == ceil
    assert delay(failures, 0.0) == ceil / 2  # jitter 0: exactly half the ceiling
    assert delay(failures, 0.5) == ceil * 0.75
    assert ceil / 2 <= delay(failures, 0.999) < ceil


def test_first_failure_is_between_2_5_and_5_seconds() -> None:
    assert delay(1, 0.0) == 2.5
    assert 4.99 < delay(1, 0.999) < 5.0


@pytest.mark.parametrize("jitter", [0.0, 0.25, 0.75])
def test_doubles_with_each_failure_until_the_cap(jitter: float) -> None:
    values = [delay(n, jitter) for n in range(1, 15)]
    for n in range(1, 10):  # 5 * 2**9 = 2560 < 3600: pure doubling up to here
        assert values[n] == 2 * values[n - 1]
    assert values[10] < 2 * values[9]  # the cap bites at the 11th failure
    assert values[10:] == [values[10]] * 4


@given(st.integers(1, 10**12), JITTER)
def test_delay_stays_within_half_ceiling_and_ceiling(failures: int, jitter: float) -> None:
    c = ceiling(failures)
    d = delay(failures, jitter)
    assert c / 2 <= d <= c
    assert d <= CAP_SECONDS


@given(st.integers(1, 10**12), SAFE_JITTER)
def test_delay_is_strictly_below_the_ceiling(failures: int, jitter: float) -> None:
    assert delay(failures, jitter) < ceiling(failures)


def test_delay_below_ceiling_for_the_largest_jitter() -> None:
    jitter = math.nextafter(1.0, 0.0)
    assert jitter < 1.0
    assert delay(1, jitter) < 5.0


@given(st.integers(0, 200), st.integers(0, 200), JITTER)
def test_delay_never_decreases_with_more_failures(a: int, b: int, jitter: float) -> None:
    lo, hi = sorted((a, b))
    assert delay(lo, jitter) <= delay(hi, jitter)


@given(st.integers(1, 200), JITTER, JITTER)
def test_delay_never_decreases_with_more_jitter(failures: int, j1: float, j2: float) -> None:
    lo, hi = sorted((j1, j2))
    assert delay(failures, lo) <= delay(failures, hi)


@given(
    st.integers(1, 60),
    JITTER,
    st.floats(0.001, 100.0),
    st.floats(1.0, 10**6),
)
def test_custom_base_and_cap(failures: int, jitter: float, base: float, cap: float) -> None:
    d = delay(failures, jitter, base=base, cap=cap)
    c = min(cap, base * 2.0 ** min(failures - 1, 30))
    assert c / 2 <= d <= c
    assert d <= cap
    assert delay(0, jitter, base=base, cap=cap) == 0.0


def test_custom_base_and_cap_examples() -> None:
    assert delay(1, 0.0, base=1.0, cap=8.0) == 0.5
    assert delay(4, 0.0, base=1.0, cap=8.0) == 4.0
    assert delay(5, 0.0, base=1.0, cap=8.0) == 4.0
    assert delay(3, 0.5, base=2.0, cap=100.0) == 6.0


def test_jitter_spreads_peers_that_failed_together() -> None:
    values = {delay(5, j / 10) for j in range(10)}
    assert len(values) == 10
    assert min(values) == 40.0 and max(values) < 80.0


# --------------------------------------------------------------------------- next_attempt / due


@pytest.mark.parametrize(("failures", "jitter"), [(0, 0.3), (1, 0.0), (3, 0.5), (20, 0.9)])
def test_next_attempt_is_now_plus_delay(failures: int, jitter: float) -> None:
    at = next_attempt(failures, NOW, jitter)
    assert at == NOW + timedelta(seconds=delay(failures, jitter))
    assert at.tzinfo is UTC


def test_next_attempt_examples() -> None:
    assert next_attempt(0, NOW, 0.5) == NOW
    assert next_attempt(1, NOW, 0.0) == NOW + timedelta(seconds=2.5)
    assert next_attempt(3, NOW, 0.5) == NOW + timedelta(seconds=15)
    assert next_attempt(99, NOW, 0.0) == NOW + timedelta(minutes=30)


def test_next_attempt_keeps_the_callers_timezone() -> None:
    cet = timezone(timedelta(hours=1))
    now = NOW.astimezone(cet)
    at = next_attempt(2, now, 0.0)
    assert at.tzinfo is cet
    assert at == NOW + timedelta(seconds=5)


def test_due_without_a_schedule() -> None:
    assert due(None, NOW)


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (timedelta(seconds=-1), True),
        (timedelta(0), True),  # exactly at the time: due
        (timedelta(microseconds=1), False),
        (timedelta(hours=1), False),
    ],
)
def test_due_compares_with_now(offset: timedelta, expected: bool) -> None:
    assert due(NOW + offset, NOW) is expected


@given(st.integers(1, 40), JITTER, st.floats(0.0, 10_000.0))
def test_a_backed_off_peer_becomes_due_exactly_at_its_time(
    failures: int, jitter: float, waited: float
) -> None:
    at = next_attempt(failures, NOW, jitter)
    later = NOW + timedelta(seconds=waited)
    assert due(at, later) is (later >= at)
    assert not due(at, at - timedelta(microseconds=1))
    assert due(at, at)


def test_success_resets_so_the_peer_is_due_at_once() -> None:
    at = next_attempt(0, NOW, 0.7)
    assert due(at, NOW)
    backed = next_attempt(1, NOW, 0.7)
    assert not due(backed, NOW)
