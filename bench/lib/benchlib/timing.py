"""Rates, latencies, percentiles and medians, computed one way for every bench.

Loops here are bounded by count and by time, so a slow machine shortens a measurement
instead of hanging it. Rates are also taken per CPU second of the measuring thread: on a
shared machine other processes stretch wall time, not the CPU time an operation needs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def rate(fn: Callable[[], object], seconds: float, batch: int = 100) -> tuple[float, float]:
    """(calls per wall second, calls per CPU second of this thread) of ``fn``, called in
    batches until ``seconds`` have passed."""
    n, t0, c0 = 0, time.perf_counter(), time.thread_time()
    deadline = t0 + seconds
    while True:
        for _ in range(batch):
            fn()
        n += batch
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - t0), n / max(1e-9, time.thread_time() - c0)


def latencies(
    fn: Callable[[], T], *, n: int, seconds: float, check: Callable[[T], object] | None = None
) -> list[float]:
    """Seconds taken by each of at most ``n`` calls of ``fn``, within ``seconds``.
    ``check`` sees each result after its time is taken (status counts, size), so that
    checking costs the measurement nothing."""
    lat: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(lat) < n and time.perf_counter() < deadline:
        t0 = time.perf_counter()
        out = fn()
        lat.append(time.perf_counter() - t0)
        if check is not None:
            check(out)
    return lat


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[k]


def med(values: Sequence[float]) -> float:
    """The median, NaN for no values (a phase that measured nothing shows as NaN)."""
    return float(statistics.median(values)) if values else float("nan")


def ms(x: float) -> float:
    """Seconds as milliseconds, to the microsecond."""
    return round(x * 1000, 3)
