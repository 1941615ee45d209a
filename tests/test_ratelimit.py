"""Rate limits: the token bucket on its own with an injected clock, then as the API applies
it to writes (per token) and to failed token checks (per client address)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import example, given, settings
from hypothesis import strategies as st
from support.clock import Clock
from support.factories import member_body
from support.nodes import Node, make_node
from support.problems import assert_problem

from node import ratelimit
from node.errors import RateLimited
from node.ratelimit import RateLimiter

# --- the bucket ----------------------------------------------------------------------------


def hits(limiter: RateLimiter, key: str, now: float, n: int) -> int:
    """How many of ``n`` hits at time ``now`` are allowed."""
    allowed = 0
    for _ in range(n):
        try:
            limiter.hit(key, now=now)
            allowed += 1
        except RateLimited:
            pass
    return allowed


def refusal(limiter: RateLimiter, key: str, now: float) -> RateLimited:
    with pytest.raises(RateLimited) as info:
        limiter.hit(key, now=now)
    return info.value


def test_a_new_key_gets_the_full_burst_then_is_refused() -> None:
    limiter = RateLimiter(per_minute=60, burst=3)
    for _ in range(3):
        limiter.hit("a", now=100.0)
    exc = refusal(limiter, "a", 100.0)
    assert exc.retry_after == 1
    assert "retry in 1 s" in str(exc)


def test_default_burst_is_the_whole_minute_budget() -> None:
    assert hits(RateLimiter(per_minute=60), "a", 0.0, 100) == 60
    assert hits(RateLimiter(per_minute=600), "a", 0.0, 1000) == 600
    assert hits(RateLimiter(per_minute=5), "a", 0.0, 10) == 5
    assert hits(RateLimiter(per_minute=1), "a", 0.0, 5) == 1


def test_keys_have_separate_buckets() -> None:
    limiter = RateLimiter(per_minute=60, burst=2)
    assert hits(limiter, "a", 0.0, 5) == 2
    assert hits(limiter, "b", 0.0, 5) == 2
    refusal(limiter, "a", 0.0)


def test_tokens_refill_at_the_rate_and_stop_at_the_burst() -> None:
    limiter = RateLimiter(per_minute=60, burst=3)  # one token a second
    assert hits(limiter, "a", 0.0, 3) == 3
    refusal(limiter, "a", 0.5)
    limiter.hit("a", now=1.0)  # one second: exactly one token
    refusal(limiter, "a", 1.0)
    assert hits(limiter, "a", 3.0, 5) == 2  # two more seconds, two more tokens
    assert hits(limiter, "a", 1000.0, 10) == 3  # a long pause refills to the burst only


def test_refused_hits_do_not_consume_tokens() -> None:
    limiter = RateLimiter(per_minute=60, burst=1)
    limiter.hit("a", now=0.0)
    for t in (0.1, 0.2, 0.5, 0.9):
        refusal(limiter, "a", t)
    limiter.hit("a", now=1.0)


@pytest.mark.parametrize(
    ("per_minute", "burst", "wait", "retry_after"),
    [
        (60, 1, 0.0, 1),  # one a second
        (6, 1, 0.0, 10),  # one every ten seconds
        (6, 1, 4.0, 6),  # four seconds already waited
        (6, 1, 9.5, 1),  # never less than one second
        (1, 1, 0.0, 60),
        (7, 1, 0.0, 9),  # 60/7 = 8.57 s, rounded up
    ],
)
def test_retry_after_is_the_whole_seconds_until_the_next_token(
    per_minute: int, burst: int, wait: float, retry_after: int
) -> None:
    limiter = RateLimiter(per_minute=per_minute, burst=burst)
    limiter.hit("a", now=0.0)
    assert refusal(limiter, "a", wait).retry_after == retry_after
    limiter.hit("a", now=wait + retry_after)  # and waiting that long is enough


@settings(max_examples=200, deadline=None, database=None)
@example(per_minute=1, burst=1, gaps=[32.88])
@given(
    per_minute=st.integers(1, 120),
    burst=st.integers(1, 5),
    gaps=st.lists(st.floats(0, 100).map(lambda x: round(x, 2)), max_size=8),
)
def test_waiting_retry_after_is_always_enough(
    per_minute: int, burst: int, gaps: list[float]
) -> None:
    limiter = RateLimiter(per_minute=per_minute, burst=burst)
    t = 0.0
    for gap in gaps:
        t += gap
        hits(limiter, "a", t, 1)
    hits(limiter, "a", t, burst)  # use up whatever is left
    wait = refusal(limiter, "a", t).retry_after
    limiter.hit("a", now=t + wait)


def test_peek_refuses_without_taking_a_token() -> None:
    limiter = RateLimiter(per_minute=60, burst=2)
    for _ in range(10):
        limiter.peek("a", now=0.0)  # an unknown key is never refused...
    assert "a" not in limiter.store._buckets  # ...and peeking does not create a bucket
    limiter.hit("a", now=0.0)
    for _ in range(10):
        limiter.peek("a", now=0.0)  # one token left: peeking many times keeps it
    limiter.hit("a", now=0.0)
    with pytest.raises(RateLimited) as info:
        limiter.peek("a", now=0.25)
    assert info.value.retry_after == 1
    limiter.peek("a", now=1.0)  # refilled
    limiter.hit("a", now=1.0)
    refusal(limiter, "a", 1.0)


def test_the_key_table_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    limiter = RateLimiter(per_minute=60, burst=1)
    for i in range(ratelimit.MAX_KEYS + 500):
        limiter.hit(f"k{i}", now=0.0)
    assert len(limiter.store._buckets) == ratelimit.MAX_KEYS

    monkeypatch.setattr(ratelimit, "MAX_KEYS", 3)
    small = RateLimiter(per_minute=60, burst=1)
    small.hit("old", now=0.0)
    small.hit("kept", now=0.0)
    small.hit("x", now=0.0)
    refusal(small, "kept", 0.0)  # touching a key makes it the most recent
    small.hit("y", now=0.0)  # evicts the least recently used: "old"
    assert list(small.store._buckets) == ["x", "kept", "y"]
    small.hit("old", now=0.0)  # forgotten, so it starts with a full bucket again
    assert len(small.store._buckets) == 3
    refusal(small, "kept", 0.0)  # still remembered and still empty


# --- writes through the API ------------------------------------------------------------------


class FakeMonotonic:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limited(tmp_path: Path, clock: Clock) -> Iterator[tuple[Node, FakeMonotonic]]:
    n = make_node(
        tmp_path / "home",
        f"sqlite:///{tmp_path / 'node.db'}",
        clock,
        write_rate_per_minute=5,
        auth_failures_per_minute=3,
    )
    mono = FakeMonotonic()
    n.app.state.runtime.rate_clock = mono
    yield n, mono
    n.client.close()
    n.engine.dispose()


def post(node: Node, headers: dict[str, str], client: TestClient | None = None):  # type: ignore[no-untyped-def]
    return (client or node.client).post("/admin/members", json=member_body(), headers=headers)


def assert_429(r, retry_after: int | None = None) -> int:  # type: ignore[no-untyped-def]
    assert_problem(r, 429)
    wait = int(r.headers["retry-after"])
    assert wait >= 1
    if retry_after is not None:
        assert wait == retry_after
    return wait


def test_quick_writes_are_throttled_with_retry_after(limited: tuple[Node, FakeMonotonic]) -> None:
    node, mono = limited
    statuses = [post(node, node.editor).status_code for _ in range(6)]
    assert statuses[0] == 201
    assert 429 in statuses  # at most five of six quick writes pass
    r = post(node, node.editor)
    wait = assert_429(r)
    assert wait <= 12  # one write per 12 s at 5 a minute
    seq = node.client.get("/node").json()["last_seq"]
    assert seq == statuses.count(201)  # refused writes wrote nothing

    mono.now += wait - 1
    assert_429(post(node, node.editor))  # not yet
    mono.now += 1
    r = post(node, node.editor)
    assert r.status_code == 201 and r.json()["seq"] == seq + 1


def test_five_quick_writes_pass_and_the_sixth_is_429(limited: tuple[Node, FakeMonotonic]) -> None:
    node, _ = limited
    statuses = [post(node, node.editor).status_code for _ in range(6)]
    assert statuses == [201] * 5 + [429]


def test_the_write_limit_is_per_token(limited: tuple[Node, FakeMonotonic]) -> None:
    node, _ = limited
    for _ in range(6):
        post(node, node.editor)
    assert_429(post(node, node.editor))
    assert post(node, node.admin).status_code == 201
    # Reads are never throttled.
    for _ in range(20):
        assert node.client.get("/members").status_code == 200


# --- failed token checks through the API -----------------------------------------------------


def test_after_three_bad_tokens_even_a_valid_token_waits(
    limited: tuple[Node, FakeMonotonic],
) -> None:
    node, mono = limited
    bad = {"Authorization": "Bearer hn_000000000000_guess"}
    for _ in range(3):
        r = post(node, bad)
        assert r.status_code == 401, r.text
    # The fourth attempt is refused before the token is looked at, valid or not.
    wait = assert_429(post(node, node.editor), retry_after=20)  # 3 a minute: one per 20 s
    assert_429(post(node, bad))
    assert_429(node.client.get("/admin/audit", headers=node.admin))
    assert node.client.get("/node").json()["last_seq"] == 0

    mono.now += wait - 1
    assert_429(post(node, node.editor))  # not yet
    mono.now += 1
    assert post(node, node.editor).status_code == 201


def test_the_auth_limit_is_per_client_address(limited: tuple[Node, FakeMonotonic]) -> None:
    node, _ = limited
    bad = {"Authorization": "Bearer nonsense"}
    for _ in range(3):
        assert post(node, bad).status_code == 401
    assert_429(post(node, node.admin))

    other = TestClient(node.app, raise_server_exceptions=False, client=("192.0.2.7", 40000))
    try:
        assert post(node, node.admin, other).status_code == 201
        for _ in range(3):
            assert post(node, bad, other).status_code == 401
        assert_429(post(node, node.admin, other))
    finally:
        other.close()


def test_good_tokens_do_not_use_up_the_failure_budget(
    limited: tuple[Node, FakeMonotonic],
) -> None:
    node, mono = limited
    for _ in range(10):
        assert node.client.get("/admin/audit", headers=node.admin).status_code == 200
    for _ in range(3):
        assert node.client.get("/admin/audit").status_code == 401
    assert_429(node.client.get("/admin/audit", headers=node.admin))
    # Failures that are spread out stay under the limit.
    mono.now += 60
    for _ in range(6):
        assert node.client.get("/admin/audit").status_code == 401
        mono.now += 20
    assert node.client.get("/admin/audit", headers=node.admin).status_code == 200
