"""Token-bucket rate limits, per client key, with the clock passed in.

The arithmetic (``take``, ``wait``) is pure: a bucket, the time and the rate in, the new
bucket and a verdict out. Where the buckets live is the store's business:

* ``SharedBuckets`` keeps them in the node's database, so that every worker of ``serve
  --workers N`` and every replica on one PostgreSQL database spends the same allowance
  (N processes no longer allow N times the rate). Its times are wall-clock seconds, the
  one clock that processes on several hosts share;
* ``MemoryBuckets`` keeps them in this process, bounded, for a limiter that needs no
  database.

A clock that steps back never adds tokens and never takes any away: the elapsed time is
taken as zero and the bucket keeps its later stamp.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from node.db import ratelimits
from node.db.session import Engine, Session, writer
from node.errors import RateLimited

MAX_KEYS = 10_000
# Float arithmetic can leave a bucket a hair short of a token after exactly the time that
# Retry-After named; a client that waited as told must get through.
_EPSILON = 1e-6
# How many takes a shared store makes between two sweeps of its full buckets.
SWEEP_EVERY = 256


@dataclass(frozen=True)
class Rate:
    per_minute: int
    # The default burst is the whole per-minute budget: a client may spend a minute's
    # allowance at once, then waits for it to refill.
    burst: int | None = None
    what: str = "requests"

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0

    @property
    def capacity(self) -> float:
        return float(self.burst if self.burst is not None else max(1, self.per_minute))

    @property
    def refill_seconds(self) -> float:
        """How long an empty bucket takes to fill: a bucket untouched for longer is full,
        the same as no bucket at all."""
        return self.capacity / self.per_second


@dataclass(frozen=True)
class Bucket:
    tokens: float
    stamp: float


def refilled(bucket: Bucket | None, *, now: float, rate: Rate) -> Bucket:
    """The bucket as it stands at ``now``: a missing one is full."""
    if bucket is None:
        return Bucket(rate.capacity, now)
    elapsed = max(0.0, now - bucket.stamp)
    tokens = min(rate.capacity, bucket.tokens + elapsed * rate.per_second)
    return Bucket(tokens, max(now, bucket.stamp))


def wait(bucket: Bucket | None, *, now: float, rate: Rate) -> int | None:
    """Whole seconds until a token is there (at least 1), or None if one is there now."""
    tokens = refilled(bucket, now=now, rate=rate).tokens
    if tokens >= 1.0 - _EPSILON:
        return None
    return max(1, math.ceil((1.0 - tokens) / rate.per_second))


def take(bucket: Bucket | None, *, now: float, rate: Rate) -> tuple[Bucket, int | None]:
    """Take one token: the bucket afterwards, and None, or the seconds to wait (a refused
    take takes nothing)."""
    current = refilled(bucket, now=now, rate=rate)
    refused = wait(current, now=now, rate=rate)
    if refused is not None:
        return current, refused
    return Bucket(max(0.0, current.tokens - 1.0), current.stamp), None


class BucketStore(Protocol):
    def take(self, key: str, *, now: float, rate: Rate) -> int | None: ...

    def wait(self, key: str, *, now: float, rate: Rate) -> int | None: ...


class MemoryBuckets:
    """This process's buckets, the least recently used forgotten past ``MAX_KEYS`` (so a
    flood of distinct keys cannot grow the table without limit)."""

    def __init__(self) -> None:
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()

    def take(self, key: str, *, now: float, rate: Rate) -> int | None:
        bucket, refused = take(self._buckets.pop(key, None), now=now, rate=rate)
        self._buckets[key] = bucket
        if len(self._buckets) > MAX_KEYS:
            self._buckets.popitem(last=False)
        return refused

    def wait(self, key: str, *, now: float, rate: Rate) -> int | None:
        return wait(self._buckets.get(key), now=now, rate=rate)


class SharedBuckets:
    """Buckets in the database, under ``scope`` (one per limiter). A take reads and writes
    its bucket in one write transaction, with the row locked, so that two processes never
    both spend the last token. Keys are stored hashed: a client address is nobody's
    business in a backup."""

    def __init__(self, engine: Engine, scope: str) -> None:
        self.engine = engine
        self.scope = scope
        self._takes = 0

    def take(self, key: str, *, now: float, rate: Rate) -> int | None:
        key = _hashed(key)
        with Session(writer(self.engine)) as session:
            held = ratelimits.locked(session, scope=self.scope, key=key, full=(rate.capacity, now))
            bucket, refused = take(Bucket(*held), now=now, rate=rate)
            kept = (bucket.tokens, bucket.stamp)
            ratelimits.keep(session, scope=self.scope, key=key, bucket=kept)
            self._takes += 1
            if self._takes % SWEEP_EVERY == 0:
                ratelimits.sweep(
                    session, scope=self.scope, full_before=now - rate.refill_seconds,
                    keep=MAX_KEYS,
                )  # fmt: skip
            session.commit()
        return refused

    def wait(self, key: str, *, now: float, rate: Rate) -> int | None:
        with Session(self.engine) as session:
            held = ratelimits.get(session, scope=self.scope, key=_hashed(key))
        return wait(None if held is None else Bucket(*held), now=now, rate=rate)


def _hashed(key: str) -> str:
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()


class RateLimiter:
    def __init__(
        self,
        *,
        per_minute: int,
        burst: int | None = None,
        what: str = "requests",
        store: BucketStore | None = None,
    ) -> None:
        self.rate = Rate(per_minute, burst, what)
        self.store: BucketStore = store if store is not None else MemoryBuckets()

    def peek(self, key: str, *, now: float) -> None:
        """Raise ``RateLimited`` if ``key`` has no token left, without taking one."""
        self._raise(self.store.wait(key, now=now, rate=self.rate))

    def hit(self, key: str, *, now: float) -> None:
        """Take one token for ``key`` at time ``now`` or raise ``RateLimited``."""
        self._raise(self.store.take(key, now=now, rate=self.rate))

    def _raise(self, refused: int | None) -> None:
        if refused is not None:
            raise RateLimited(
                f"too many {self.rate.what}; retry in {refused} s", retry_after=refused
            )
