"""Named locks between the processes of one node (``serve --workers N``, replicas sharing
a PostgreSQL database, ``healthnet sync`` run beside the server).

Two uses: the scheduler lock (node.sync.leader), so exactly one process runs the periodic
pulls, and one lock per peer taken around every pull (node.sync.puller), so a nudge that
reaches a worker which is not the scheduler still never pulls a peer at the same time as
another process does. Both backends are released by the operating system or the database
when the holding process dies, however it dies: nothing needs cleaning up after a crash.

- SQLite (one host, one home): ``fcntl.flock`` on ``HOME/locks/NAME.lock``. The holder
  writes its pid into the file, for ``holder``.
- PostgreSQL (any number of hosts): session advisory locks (node.db.locks).

Every operation is non-blocking; a caller that wants to wait polls (``acquire``), so no
thread ever sits in a lock call it cannot leave.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from node.db import locks as advisory
from node.db.session import Engine


class Lease(Protocol):
    def alive(self) -> bool: ...

    def release(self) -> None: ...


class Locks(Protocol):
    def try_acquire(self, name: str) -> Lease | None: ...

    def holder(self, name: str) -> Holder | None: ...


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: a process id and the host it runs on."""

    pid: int
    host: str

    def label(self) -> str:
        return f"healthnet pid={self.pid} host={self.host}"

    @classmethod
    def me(cls) -> Holder:
        return cls(os.getpid(), socket.gethostname())

    @classmethod
    def parse(cls, label: str | None) -> Holder | None:
        fields = dict(p.split("=", 1) for p in (label or "").split()[1:] if "=" in p)
        try:
            return cls(int(fields["pid"]), fields.get("host", ""))
        except (KeyError, ValueError):
            return None


class FileLease:
    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def alive(self) -> bool:
        return self._fd is not None  # a flock on an open file cannot be taken away

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class FileLocks:
    """``flock`` locks in one directory, for the processes of one host."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, name: str) -> Path:
        return self.directory / f"{name}.lock"

    def try_acquire(self, name: str) -> FileLease | None:
        self.directory.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(self._path(name), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        os.ftruncate(fd, 0)
        os.pwrite(fd, Holder.me().label().encode("utf-8"), 0)
        return FileLease(fd)

    def holder(self, name: str) -> Holder | None:
        """The pid written by the last holder, if that process still runs (a killed
        holder's pid stays in the file; the OS released its lock)."""
        try:
            found = Holder.parse(self._path(name).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        if found is None:
            return None
        try:
            os.kill(found.pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # it runs, as another user
        return found


class AdvisoryLocks:
    """PostgreSQL advisory locks, shared by every process that uses the database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def try_acquire(self, name: str) -> advisory.AdvisoryLease | None:
        return advisory.try_lock(self.engine, name, label=Holder.me().label())

    def holder(self, name: str) -> Holder | None:
        return Holder.parse(advisory.holder(self.engine, name))


def locks_for(engine: Engine, home: Path) -> Locks:
    """Advisory locks when the database is PostgreSQL (its processes may run on several
    hosts), else lock files in the node home (SQLite's processes share one host)."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLocks(engine)
    return FileLocks(home / "locks")


async def acquire(
    locks: Locks,
    name: str,
    *,
    wait: float,
    every: float = 0.1,
    monotonic: Callable[[], float] = time.monotonic,
) -> Lease | None:
    """Take lock ``name``, trying again every ``every`` seconds for at most ``wait``
    seconds (0: try once). None if it stayed held elsewhere."""
    deadline = monotonic() + wait
    while True:
        lease = await asyncio.to_thread(locks.try_acquire, name)
        if lease is not None or monotonic() >= deadline:
            return lease
        await asyncio.sleep(every)
