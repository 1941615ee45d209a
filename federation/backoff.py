"""Per-peer retry timing. Pure: the clock and the jitter are arguments.

Exponential backoff with full jitter, so that peers that failed together do not retry
together. A success resets the count; a peer in backoff is skipped, never waited on.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

BASE_SECONDS = 5.0
CAP_SECONDS = 3600.0


def delay(
    failures: int, jitter: float, *, base: float = BASE_SECONDS, cap: float = CAP_SECONDS
) -> float:
    """Seconds to wait after ``failures`` consecutive failures; ``jitter`` in [0, 1)."""
    if failures <= 0:
        return 0.0
    ceiling: float = min(cap, base * 2.0 ** min(failures - 1, 30))
    # Rounding could reach the ceiling itself for jitter just below 1: stay below it.
    return min(ceiling / 2 + ceiling / 2 * jitter, math.nextafter(ceiling, 0.0))


def next_attempt(failures: int, now: datetime, jitter: float) -> datetime:
    return now + timedelta(seconds=delay(failures, jitter))


def due(next_at: datetime | None, now: datetime) -> bool:
    return next_at is None or now >= next_at
