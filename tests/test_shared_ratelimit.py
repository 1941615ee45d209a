"""Rate limits shared by every process of a node: the buckets in the database agree with
the arithmetic, two apps on one database (two workers, or two replicas on PostgreSQL)
spend one allowance, concurrent takes never spend a token twice, the table stays bounded
and holds no client address."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlmodel import Session
from support.clock import Clock
from support.factories import member_body
from support.nodes import Node, make_node

from node import ratelimit
from node.app import create_app
from node.db import migrate
from node.db.engine import make_engine
from node.db.tables import RATE_BUCKETS
from node.errors import RateLimited
from node.ratelimit import Bucket, MemoryBuckets, Rate, RateLimiter, SharedBuckets


class Ticks:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('buckets') / 'node.db'}")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


# --- the arithmetic alone --------------------------------------------------------------------


def test_a_clock_that_steps_back_neither_adds_nor_takes_tokens() -> None:
    rate = Rate(per_minute=60, burst=2)
    bucket, refused = ratelimit.take(None, now=100.0, rate=rate)
    assert refused is None and bucket == Bucket(1.0, 100.0)
    back, refused = ratelimit.take(bucket, now=40.0, rate=rate)  # 60 s back: no refill
    assert refused is None and back == Bucket(0.0, 100.0)  # the later stamp is kept
    assert ratelimit.take(back, now=50.0, rate=rate)[1] == 1
    assert ratelimit.take(back, now=101.0, rate=rate)[1] is None  # one second after 100


# --- the shared store against the arithmetic ---------------------------------------------------


@settings(max_examples=60, deadline=None, database=None)
@given(
    per_minute=st.integers(1, 120),
    burst=st.integers(1, 4),
    steps=st.lists(
        st.tuples(
            st.sampled_from("abc"), st.floats(0, 30).map(lambda x: round(x, 2)), st.booleans()
        ),
        max_size=14,
    ),
)
def test_the_shared_store_answers_as_the_memory_store_does(
    sqlite_engine: object, per_minute: int, burst: int, steps: list[tuple[str, float, bool]]
) -> None:
    rate = Rate(per_minute, burst)
    memory, shared = MemoryBuckets(), SharedBuckets(sqlite_engine, f"t{uuid.uuid4().hex[:18]}")  # type: ignore[arg-type]
    now = 1_000_000.0
    for key, gap, peek in steps:
        now += gap
        if peek:
            assert shared.wait(key, now=now, rate=rate) == memory.wait(key, now=now, rate=rate)
        else:
            assert shared.take(key, now=now, rate=rate) == memory.take(key, now=now, rate=rate)


def test_concurrent_takes_never_spend_a_token_twice(database_url: str) -> None:
    """Two engines (two processes' pools) and eight threads take from one bucket of 20 at
    one instant: exactly 20 takes pass."""
    engines = [make_engine(database_url) for _ in range(2)]
    migrate.upgrade(engines[0])
    rate = Rate(per_minute=20)
    granted: list[int] = []
    barrier = threading.Barrier(8)

    def worker(engine: object) -> None:
        store = SharedBuckets(engine, "concurrent")  # type: ignore[arg-type]
        barrier.wait(timeout=30)
        granted.append(sum(store.take("k", now=5_000.0, rate=rate) is None for _ in range(10)))

    threads = [threading.Thread(target=worker, args=(engines[i % 2],)) for i in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads)
        assert sum(granted) == 20 and len(granted) == 8
    finally:
        for engine in engines:
            engine.dispose()


def test_the_table_is_swept_and_bounded_and_holds_no_address(
    sqlite_engine: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "MAX_KEYS", 3)
    monkeypatch.setattr(ratelimit, "SWEEP_EVERY", 1)
    limiter = RateLimiter(per_minute=60, burst=1, store=SharedBuckets(sqlite_engine, "sweep"))  # type: ignore[arg-type]
    for i in range(10):
        limiter.hit(f"192.0.2.{i}", now=100.0 + i * 0.01)
    with Session(sqlite_engine) as session:  # type: ignore[call-overload]
        c = RATE_BUCKETS.c
        rows = session.execute(select(c.key, c.stamp).where(c.scope == "sweep")).all()
    assert len(rows) == 3  # the three most recent
    assert {round(stamp, 2) for _, stamp in rows} == {100.07, 100.08, 100.09}
    assert not any("192.0.2" in key for key, _ in rows)  # hashed, never the address
    with pytest.raises(RateLimited):
        limiter.hit("192.0.2.9", now=100.5)  # still remembered, still empty
    limiter.hit("192.0.2.0", now=100.5)  # swept: it starts full again
    limiter.hit("x", now=1000.0)  # every bucket is full again by now: all swept but x
    with Session(sqlite_engine) as session:  # type: ignore[call-overload]
        keys = session.execute(select(c.key).where(c.scope == "sweep")).scalars().all()
    assert len(keys) == 1


# --- two apps on one database: two workers, or two replicas ---------------------------------


@pytest.fixture
def pair(
    tmp_path: Path, clock: Clock, database_url: str
) -> Iterator[tuple[Node, TestClient, Ticks]]:
    """A node and a second app on its home and database, both on one clock: what two
    workers of ``serve --workers 2`` (or two replicas on PostgreSQL) are."""
    node = make_node(
        tmp_path / "home", database_url, clock, write_rate_per_minute=5,
        auth_failures_per_minute=3,
    )  # fmt: skip
    other_app = create_app(node.settings, clock=clock)
    other = TestClient(other_app, raise_server_exceptions=False)
    ticks = Ticks()
    node.app.state.runtime.rate_clock = ticks
    other_app.state.runtime.rate_clock = ticks
    yield node, other, ticks
    other.close()
    node.client.close()
    other_app.state.runtime.engine.dispose()
    node.engine.dispose()


def test_two_processes_spend_one_write_allowance(pair: tuple[Node, TestClient, Ticks]) -> None:
    node, other, ticks = pair
    statuses = []
    for i in range(6):
        client = node.client if i % 2 else other
        statuses.append(
            client.post("/admin/members", json=member_body(), headers=node.editor).status_code
        )
    assert statuses == [201] * 5 + [429]  # five a minute across both, not five each
    r = other.post("/admin/members", json=member_body(), headers=node.editor)
    assert r.status_code == 429 and int(r.headers["retry-after"]) == 12
    ticks.now += 12
    r = node.client.post("/admin/members", json=member_body(), headers=node.editor)
    assert r.status_code == 201


def test_two_processes_count_failed_token_checks_together(
    pair: tuple[Node, TestClient, Ticks],
) -> None:
    node, other, _ = pair
    bad = {"Authorization": "Bearer hn_000000000000_guess"}
    assert node.client.get("/admin/audit", headers=bad).status_code == 401
    assert other.get("/admin/audit", headers=bad).status_code == 401
    assert node.client.get("/admin/audit", headers=bad).status_code == 401
    # The fourth attempt, on either process, waits: even with a valid token.
    assert other.get("/admin/audit", headers=node.admin).status_code == 429
    assert node.client.get("/admin/audit", headers=node.admin).status_code == 429
