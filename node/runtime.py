"""What one running node holds: its settings, engine, key, clocks and limiters.

Built by ``create_app`` (never at import time) and kept on ``app.state.runtime``, so one
process can host several nodes, each with its own key and database, as the tests do.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from federation.keys import SigningKey
from node.ratelimit import RateLimiter
from node.settings import NodeSettings


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: NodeSettings
    engine: Engine
    key: SigningKey
    clock: Callable[[], datetime] = utc_now
    monotonic: Callable[[], float] = time.monotonic
    write_limiter: RateLimiter = field(init=False)
    auth_limiter: RateLimiter = field(init=False)
    nudge_limiter: RateLimiter = field(init=False)
    syncer: Any = None  # node.sync.Syncer, set by create_app (typed loosely: it imports us)

    def __post_init__(self) -> None:
        self.write_limiter = RateLimiter(
            per_minute=self.settings.write_rate_per_minute, what="writes"
        )
        self.auth_limiter = RateLimiter(
            per_minute=self.settings.auth_failures_per_minute,
            burst=self.settings.auth_failures_per_minute,
            what="failed token checks",
        )
        self.nudge_limiter = RateLimiter(per_minute=600, burst=60, what="nudges")
