"""The locks that keep several processes of one node apart (node.sync.locks, node.db.locks),
the scheduler election over them (node.sync.leader), the per-peer lock around every pull,
and publishing from two connections at once on PostgreSQL. The whole-process behaviour
(``serve --workers 2``, replicas, a killed scheduler) is tests/test_workers.py's."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session
from support.clock import Clock
from support.faults import World, create_member, entry, world_test

from node import publisher
from node.db import store
from node.db.engine import writer
from node.db.setup import open_database
from node.home import init_home, load_key
from node.publisher import Draft, Mode
from node.runtime import utc_now
from node.sync.leader import Change, Leader
from node.sync.locks import AdvisoryLocks, FileLocks, Holder
from schemas.geo import Region

# --- the election, over locks the test controls ---------------------------------------------


class FakeLease:
    def __init__(self, locks: FakeLocks) -> None:
        self.locks = locks
        self.lost = False

    def alive(self) -> bool:
        return not self.lost

    def release(self) -> None:
        self.locks.held = None


class FakeLocks:
    def __init__(self) -> None:
        self.held: FakeLease | None = None
        self.down = False

    def try_acquire(self, name: str) -> FakeLease | None:
        if self.down:
            raise OSError("database unreachable")
        if self.held is not None:
            return None
        self.held = FakeLease(self)
        return self.held

    def holder(self, name: str) -> Holder | None:
        return Holder(4242, "elsewhere") if self.held else None


def test_one_leader_at_a_time_and_a_successor_when_it_goes() -> None:
    locks = FakeLocks()
    first, second = Leader(locks), Leader(locks)
    assert first.step() is Change.ELECTED
    assert second.step() is None and not second.leading
    assert first.step() is None and first.leading  # still holds it: nothing changes
    assert second.holder() == Holder(4242, "elsewhere")

    assert locks.held is not None
    locks.held.lost = True  # its connection dropped: the lock is no longer its own
    assert first.step() is Change.DEPOSED and not first.leading
    assert second.step() is Change.ELECTED

    second.resign()  # shutdown gives the lock up at once
    assert locks.held is None and not second.leading
    locks.down = True
    assert first.step() is None and not first.leading  # cannot tell: does not schedule


# --- lock files (SQLite) -----------------------------------------------------------------------


def test_lock_files_exclude_each_other_and_name_their_holder(tmp_path: Path) -> None:
    one, two = FileLocks(tmp_path / "locks"), FileLocks(tmp_path / "locks")
    lease = one.try_acquire("scheduler")
    assert lease is not None
    assert two.try_acquire("scheduler") is None
    assert two.try_acquire("pull-other") is not None  # another name is another lock
    assert two.holder("scheduler") == Holder.me()
    lease.release()
    assert two.holder("scheduler") is None
    assert two.try_acquire("scheduler") is not None


HOLD = """
import sys, time
from pathlib import Path
from node.sync.locks import FileLocks
assert FileLocks(Path(sys.argv[1])).try_acquire("scheduler") is not None
print("held", flush=True)
time.sleep(60)
"""


def test_a_killed_holder_releases_its_lock_file(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "locks")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        locks = FileLocks(tmp_path / "locks")
        assert locks.try_acquire("scheduler") is None
        assert locks.holder("scheduler") == Holder(child.pid, Holder.me().host)
    finally:
        child.kill()
        child.wait(timeout=10)
    assert locks.holder("scheduler") is None  # its pid is still written, but it is gone
    assert locks.try_acquire("scheduler") is not None


# --- one pull of a peer at a time, across processes ------------------------------------------


def test_a_pull_waits_for_or_skips_a_peer_another_process_is_pulling(
    tmp_path: Path, clock: Clock
) -> None:
    async def body(w: World) -> None:
        await create_member(w.eu, "Radboud")
        puller = w.asia.sync.puller
        other = FileLocks(w.asia.settings.home / "locks")  # as another worker would hold it
        lease = other.try_acquire(f"pull-{w.eu.node_id}")
        assert lease is not None
        skipped = await puller.pull(entry(w.asia, w.eu), force=True)
        assert (skipped.ok, skipped.applied, skipped.error) == (
            True,
            0,
            "pulled by another process",
        )
        # Given patience, the pull waits for the other process and then runs.
        asyncio.get_running_loop().call_later(0.3, lease.release)
        waited = await puller.pull(entry(w.asia, w.eu), force=True, patience=5.0)
        assert waited.ok and waited.applied >= 1, waited
        assert other.try_acquire(f"pull-{w.eu.node_id}") is not None  # given back after

    world_test(tmp_path, clock, body)


# --- advisory locks (PostgreSQL) ---------------------------------------------------------------


@pytest.mark.postgres
def test_advisory_locks_exclude_every_connection_until_released_or_dropped(pg_url: str) -> None:
    from sqlalchemy import create_engine

    one, two = create_engine(pg_url), create_engine(pg_url)
    try:
        first, second = AdvisoryLocks(one), AdvisoryLocks(two)
        lease = first.try_acquire("scheduler")
        assert lease is not None and lease.alive()
        assert second.try_acquire("scheduler") is None
        assert second.holder("scheduler") == Holder.me()
        lease.release()
        assert second.holder("scheduler") is None

        taken = second.try_acquire("scheduler")
        assert taken is not None
        with one.connect() as conn:  # the holder's connection dies, as with its process
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = :label"
                ),
                {"label": Holder.me().label()},
            )
        deadline = time.monotonic() + 10
        while first.holder("scheduler") is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not taken.alive()
        assert first.try_acquire("scheduler") is not None
        taken.release()  # a dead connection: released without an error
    finally:
        one.dispose()
        two.dispose()


@pytest.mark.postgres
def test_two_connections_updating_one_record_queue_on_postgres(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two writers (two workers) update the same member at once. Each reads the versions
    held, then pauses, so both would decide version 2 unless the first holds the origin
    until it commits: then the second reads version 2 and issues version 3."""
    settings = init_home(
        tmp_path / "home",
        name="Radboud UMC",
        region=Region.EUROPE,
        url="http://127.0.0.1:8101",
        database_url=pg_url,
    )
    engine = open_database(settings.db_url, origin=settings.node_id)
    key = load_key(settings)
    body = {"name": "Radboud", "kind": "hospital", "region": "europe", "country": "NL"}

    def publish(mode: Mode, name: str) -> list[publisher.Outcome]:
        with Session(writer(engine)) as session:
            draft = Draft("member", "m-1", mode, {**body, "name": name})
            out = publisher.publish(
                session, key=key, origin=settings.node_id, drafts=[draft], now=utc_now()
            )
            session.commit()
            return out

    try:
        publish(Mode.CREATE, "Radboud")
        real = store.current_versions

        def read_then_wait(*args: Any, **kwargs: Any) -> Any:
            held = real(*args, **kwargs)
            time.sleep(0.4)  # the other writer starts meanwhile
            return held

        monkeypatch.setattr(store, "current_versions", read_then_wait)
        errors: list[BaseException] = []
        versions: list[int] = []

        def update(name: str) -> None:
            try:
                (outcome,) = publish(Mode.UPDATE, name)
                assert outcome.envelope is not None
                versions.append(outcome.envelope["record"]["version"])
            except Exception as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=update, args=(n,)) for n in ("A", "B")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == [], errors
        assert sorted(versions) == [2, 3]
        with Session(engine) as session:
            assert store.last_seq(session, origin=settings.node_id) == 3
    finally:
        engine.dispose()
