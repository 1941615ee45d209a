"""One scheduler per node, however many processes serve it.

Every process of a node (``serve --workers N``, or replicas sharing one PostgreSQL
database) answers reads, writes and nudges, but the periodic pull must run in exactly one
of them: N schedulers would pull every peer N times per interval. So each process runs a
small election job every pull interval: try to take the scheduler lock (node.sync.locks);
the process holding it runs the pull job, the others keep trying. The lock is one the
operating system or the database releases when its holder dies, so when the scheduling
process is killed another takes over at its next try, within one pull interval, and no
pull round is lost for longer than that.

``Leader`` is the decision alone (pure but for the ``Locks`` it is given, which tests
replace); ``Scheduling`` is the shell that runs it on an APScheduler.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from node.sync.locks import Holder, Lease, Locks

logger = logging.getLogger(__name__)

SCHEDULER_LOCK = "scheduler"
SYNC_JOB = "sync-peers"


class Change(StrEnum):
    ELECTED = "elected"
    DEPOSED = "deposed"


class Leader:
    """Holds, or keeps trying to take, one lock; ``step`` says when that changes."""

    def __init__(self, locks: Locks, name: str = SCHEDULER_LOCK) -> None:
        self.locks = locks
        self.name = name
        self._lease: Lease | None = None

    @property
    def leading(self) -> bool:
        return self._lease is not None

    def step(self) -> Change | None:
        """One election round. A leader whose lock went away (its database connection
        dropped) steps down and competes again like any other process. An error reaching
        the lock counts as "not leading": a process that cannot tell must not schedule."""
        if self._lease is not None:
            if self._lease.alive():
                return None
            self._drop()
            return Change.DEPOSED
        try:
            self._lease = self.locks.try_acquire(self.name)
        except Exception as exc:  # noqa: BLE001 - an unreachable database: try next round
            logger.warning("cannot reach the %s lock: %s", self.name, exc)
            return None
        return Change.ELECTED if self._lease is not None else None

    def resign(self) -> None:
        """Give the lock up (on shutdown), so another process need not wait for a crash."""
        self._drop()

    def _drop(self) -> None:
        lease, self._lease = self._lease, None
        if lease is not None:
            try:
                lease.release()
            except Exception as exc:  # noqa: BLE001 - gone already; the holder died with it
                logger.info("releasing the %s lock: %s", self.name, exc)

    def holder(self) -> Holder | None:
        """Who runs the scheduler now: this process, or whoever the lock names."""
        if self._lease is not None:
            return Holder.me()
        try:
            return self.locks.holder(self.name)
        except Exception:  # noqa: BLE001 - a status view must not fail for this
            return None


class Scheduling:
    """The scheduler of one process: the election job always, the pull job while this
    process leads. ``pull`` is one round (``Puller.sync_all``)."""

    def __init__(
        self,
        leader: Leader,
        *,
        pull: Callable[[], Awaitable[Any]],
        interval: float,
        jitter: float,
    ) -> None:
        self.leader = leader
        self._pull = pull
        self._interval = interval
        self._jitter = jitter
        self._scheduler: AsyncIOScheduler | None = None

    def start(self) -> None:
        """Called in the running event loop (the app's lifespan)."""
        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.add_job(
            self.elect,
            "interval",
            seconds=self._interval,
            id="elect",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),  # compete at start-up
        )
        scheduler.start()
        self._scheduler = scheduler

    async def elect(self) -> Change | None:
        change = await asyncio.to_thread(self.leader.step)
        scheduler = self._scheduler
        if change is Change.ELECTED:
            logger.info("process %s runs the scheduled pulls", os.getpid())
            if scheduler is not None:
                scheduler.add_job(
                    self._pull,
                    "interval",
                    seconds=self._interval,
                    jitter=self._jitter,
                    id=SYNC_JOB,
                    max_instances=1,
                    coalesce=True,
                    replace_existing=True,
                    next_run_time=datetime.now(UTC),  # first pull at once
                )
        elif change is Change.DEPOSED:
            logger.warning("process %s lost the scheduler lock", os.getpid())
            if scheduler is not None and scheduler.get_job(SYNC_JOB) is not None:
                scheduler.remove_job(SYNC_JOB)
        return change

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        await asyncio.to_thread(self.leader.resign)

    def describe(self) -> dict[str, Any]:
        """For the status views: who runs the scheduler, and which process answered."""
        holder = self.leader.holder()
        return {
            "pid": holder.pid if holder else None,
            "host": holder.host if holder else None,
            "this_process": self.leader.leading,
            "answered_by": os.getpid(),
        }
