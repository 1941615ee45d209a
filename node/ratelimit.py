"""Token-bucket rate limits, per client key, with the clock passed in.

In memory and per process: each of a node's workers or replicas counts for itself (so N
processes allow N times the rate; docs/OPERATIONS.md), and a limit that resets on restart
is acceptable for throttling writes and token guessing. The table is bounded so a flood of
distinct keys cannot grow it without limit.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

from node.errors import RateLimited

MAX_KEYS = 10_000
# Float arithmetic can leave a bucket a hair short of a token after exactly the time that
# Retry-After named; a client that waited as told must get through.
_EPSILON = 1e-6


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    def __init__(self, *, per_minute: int, burst: int | None = None, what: str = "requests"):
        self.rate = per_minute / 60.0
        # The default burst is the whole per-minute budget: a client may spend a minute's
        # allowance at once, then waits for it to refill.
        self.capacity = float(burst if burst is not None else max(1, per_minute))
        self.what = what
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def peek(self, key: str, *, now: float) -> None:
        """Raise ``RateLimited`` if ``key`` has no token left, without taking one."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return
        tokens = min(self.capacity, bucket.tokens + (now - bucket.stamp) * self.rate)
        if tokens < 1.0 - _EPSILON:
            wait = math.ceil((1.0 - tokens) / self.rate)
            raise RateLimited(f"too many {self.what}; retry in {wait} s", retry_after=wait)

    def hit(self, key: str, *, now: float) -> None:
        """Take one token for ``key`` at monotonic time ``now`` or raise ``RateLimited``."""
        bucket = self._buckets.pop(key, None) or _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        self._buckets[key] = bucket
        if len(self._buckets) > MAX_KEYS:
            self._buckets.popitem(last=False)
        if bucket.tokens < 1.0 - _EPSILON:
            wait = math.ceil((1.0 - bucket.tokens) / self.rate)
            raise RateLimited(f"too many {self.what}; retry in {wait} s", retry_after=wait)
        bucket.tokens = max(0.0, bucket.tokens - 1.0)
