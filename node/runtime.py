"""What one running node holds: its settings, engine, key, clocks and limiters (the sync
service is its own part, ``node.sync.Sync``, beside it on the app).

Built by ``create_app`` (never at import time) and kept on ``app.state.runtime``, so one
process can host several nodes, each with its own key and database, as the tests do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from federation.keys import SigningKey
from node.db.session import Engine
from node.ratelimit import RateLimiter, SharedBuckets
from node.settings import NodeSettings


class Recent:
    """One value kept for ``ttl`` seconds of the monotonic clock, then built again.

    For public views that many clients poll: however many ask, the work is done at most
    once per ``ttl``. A lock makes concurrent first requests wait for one build.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._value: Any = None
        self._at = 0.0
        self._lock = threading.Lock()

    def get(self, now: float, build: Callable[[], Any]) -> Any:
        with self._lock:
            if self._value is None or self.ttl <= 0 or now - self._at >= self.ttl:
                self._value, self._at = build(), now
            return self._value


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: NodeSettings
    engine: Engine
    key: SigningKey
    clock: Callable[[], datetime] = utc_now
    monotonic: Callable[[], float] = time.monotonic
    # The rate limits' clock: wall-clock seconds, the one clock that replicas on several
    # hosts share (their buckets are in the database).
    rate_clock: Callable[[], float] = time.time
    write_limiter: RateLimiter = field(init=False)
    auth_limiter: RateLimiter = field(init=False)
    nudge_limiter: RateLimiter = field(init=False)
    join_limiter: RateLimiter = field(init=False)
    network_view: Recent = field(init=False)

    def __post_init__(self) -> None:
        # In the database: every worker and replica of the node spends one allowance.
        def shared(scope: str) -> SharedBuckets:
            return SharedBuckets(self.engine, scope)

        self.write_limiter = RateLimiter(
            per_minute=self.settings.write_rate_per_minute, what="writes", store=shared("write")
        )
        self.auth_limiter = RateLimiter(
            per_minute=self.settings.auth_failures_per_minute,
            burst=self.settings.auth_failures_per_minute,
            what="failed token checks",
            store=shared("auth"),
        )
        self.nudge_limiter = RateLimiter(
            per_minute=600, burst=60, what="nudges", store=shared("nudge")
        )
        # Join requests come from people at a command line: a few a minute per address is
        # plenty, and the hub's pending limits (node.joins) bound what they can store.
        self.join_limiter = RateLimiter(
            per_minute=6, burst=6, what="join requests", store=shared("join")
        )
        self.network_view = Recent(self.settings.network_view_seconds)
