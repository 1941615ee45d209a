"""Several processes serving one node, for real: ``healthnet serve --workers 2`` on one
home (SQLite and PostgreSQL), and two ``serve`` processes on different ports sharing one
PostgreSQL database, as replicas behind a proxy would.

What must hold: writes through any process allocate a dense, unique sequence and one
unbroken chain; exactly one process runs the scheduled pulls; when it is killed (SIGKILL:
no shutdown handler runs) another takes over within about one pull interval (1 s here)
and a record written on a peer afterwards still arrives by a scheduled pull (the peer's
nudges are off, so nothing else could bring it).

Every wait is a bounded poll; every ``serve`` is stopped by PID (support.procs), and a
worker is only ever killed after checking that it is a child of a ``serve`` this test
started.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.databases import BACKENDS, node_url_factory
from support.proc_federation import CONVERGE_S, SITES, Federation, Node
from support.procs import FAST_SYNC, NodeProc, Processes, free_ports, poll_until

from federation.signing import header_hash

pytestmark = pytest.mark.slow

WORKERS = ("--workers", "2")
WRITES = 48
THREADS = 8
TAKEOVER_S = 6.0  # one 1 s interval, plus a loaded machine's slack


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Processes]:
    with Processes(tmp_path) as p:
        yield p


def database(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> str:
    return node_url_factory(request, tmp_path, backend)("node")


def status(url: str) -> dict[str, Any]:
    response = httpx.get(f"{url}/federation/status", timeout=10)  # a new connection each
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def workers_of(proc: NodeProc, count: int = 2) -> dict[int, dict[str, Any]]:
    """Ask /federation/status until ``count`` different processes have answered (new
    connections land on whichever worker accepts first); each pid's last answer."""
    seen: dict[int, dict[str, Any]] = {}

    def probe() -> dict[int, dict[str, Any]] | None:
        for _ in range(10):
            view = status(proc.url)["scheduler"]
            seen[view["answered_by"]] = view
        return seen if len(seen) >= count and all(v["pid"] for v in seen.values()) else None

    poll_until(probe, timeout=30, what=f"{count} workers answering", detail=proc.output)
    assert proc.pid is not None
    for pid in seen:
        assert parent_of(pid) == proc.pid, (pid, proc.pid)  # workers of that very serve
    return seen


def ingested(url: str, origin: str) -> float:
    """``healthnet_records_ingested_total`` of one origin, from a scrape on a new
    connection (so successive scrapes reach different workers)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    line = f'healthnet_records_ingested_total{{origin="{origin}"}} '
    values = [float(x[len(line) :]) for x in text.splitlines() if x.startswith(line)]
    return values[0] if values else 0.0


def member(n: int) -> dict[str, Any]:
    return {**SITES["hub"].member, "name": f"Clinic {n:03d}"}


# --- concurrent writes ---------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_writes_through_two_workers_are_dense(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, procs: Processes
) -> None:
    fed = Federation(procs, tmp_path)
    hub = fed.create("hub", free_ports(1)[0], database_url=database(request, tmp_path, backend))
    hub.proc.args = WORKERS
    fed.start("hub")
    assert len(workers_of(hub.proc)) == 2

    with ThreadPoolExecutor(THREADS) as pool:
        written = list(pool.map(lambda n: hub.post("members", member(n)), range(WRITES)))

    # The roster is seq 1; the writes take 2..WRITES+1, each exactly once.
    seqs = sorted(w["seq"] for w in written)
    assert seqs == list(range(2, WRITES + 2)), seqs
    assert len({w["id"] for w in written}) == WRITES
    last_seq, count, _ = hub.heads()[hub.node_id]
    assert (last_seq, count) == (WRITES + 1, WRITES + 1)
    page = hub.get("/federation/records", origin=hub.node_id, after=0, limit=500)["records"]
    headers = [r["record"] for r in page]
    assert [h["seq"] for h in headers] == list(range(1, WRITES + 2))
    for before, after in zip(headers, headers[1:], strict=False):
        assert after["prev"] == header_hash(before), after["seq"]  # one unbroken chain


# --- the scheduling worker is killed ---------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_killing_the_scheduling_worker_hands_the_scheduler_over(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, procs: Processes
) -> None:
    fed = Federation(procs, tmp_path)
    hub_port, europe_port = free_ports(2)
    hub = fed.create("hub", hub_port, env={"HEALTHNET_NUDGE": "false"})
    europe = fed.create("europe", europe_port, database_url=database(request, tmp_path, backend))
    europe.proc.args = WORKERS
    fed.start("hub", "europe")
    fed.admit(europe)
    fed.wait_roster()

    seen = workers_of(europe.proc)
    leader = next(iter(seen.values()))["pid"]
    assert leader in seen, (leader, seen)  # one of this serve's two workers
    for pid, view in seen.items():
        assert view["pid"] == leader  # every worker names the same one
        assert view["this_process"] is (pid == leader)

    os.kill(leader, signal.SIGKILL)
    killed_at = time.monotonic()

    def new_leader() -> int | None:
        pid = status(europe.url)["scheduler"]["pid"]
        return pid if pid not in (None, leader) else None

    successor = poll_until(new_leader, timeout=30, interval=0.1, what="a new scheduler")
    took = time.monotonic() - killed_at
    assert took < TAKEOVER_S, f"took over after {took:.1f} s"
    assert parent_of(successor) == europe.proc.pid

    # Written after the kill on a hub that nudges nobody: only a scheduled pull brings it.
    created = hub.post("members", member(1))
    poll_until(
        lambda: fed.has_member("europe", created["id"]),
        timeout=CONVERGE_S,
        what="the hub's new member on europe",
        detail=fed.logs,
    )
    assert status(europe.url)["scheduler"]["pid"] == successor  # and it kept the lock

    # /metrics is the node's, whichever worker answers: the counters of every worker,
    # the killed one's too, add up to the hub's records that Europe pulled.
    held = europe.heads()[hub.node_id][1]
    scrapes = {ingested(europe.url, hub.node_id) for _ in range(12)}
    assert scrapes == {held}, (scrapes, held)


# --- two replicas on one PostgreSQL database ---------------------------------------------------


def schedulers(*nodes: NodeProc) -> list[dict[str, Any]] | None:
    views = [status(n.url)["scheduler"] for n in nodes]
    return views if all(v["pid"] for v in views) else None


@pytest.mark.postgres
def test_two_serve_processes_share_one_postgres_database(
    pg_url: str, tmp_path: Path, procs: Processes
) -> None:
    fed = Federation(procs, tmp_path)
    first_port, second_port = free_ports(2)
    one = fed.create("hub", first_port, database_url=pg_url)
    other = procs.add("replica", one.home, second_port, FAST_SYNC)
    replica = Node("replica", other, one.node_id, one.public_key, one.token)
    procs.start(one.proc, other)

    created = one.post("members", member(1))
    assert replica.status_of(f"/members/{created['id']}") == 200  # at once: one database
    again = replica.post("members", member(2))
    assert again["seq"] == created["seq"] + 1
    assert one.heads() == replica.heads()

    views = poll_until(lambda: schedulers(one.proc, other), timeout=30, what="a scheduler")
    assert views[0]["pid"] == views[1]["pid"] in (one.proc.pid, other.pid), views
    assert [v["this_process"] for v in views].count(True) == 1, views

    # The scheduling replica stops (SIGTERM: it gives the lock up); the other takes over.
    leader, follower = (one.proc, other) if views[0]["this_process"] else (other, one.proc)
    procs.stop(leader)
    poll_until(
        lambda: status(follower.url)["scheduler"]["this_process"] or None,
        timeout=TAKEOVER_S,
        interval=0.1,
        what="the other replica taking the scheduler",
        detail=follower.output,
    )


@pytest.mark.postgres
def test_replicas_spend_one_write_allowance(pg_url: str, tmp_path: Path, procs: Processes) -> None:
    """Two replicas on one database allow the rate once, not once each: the buckets are
    in the database. Two writes a minute; a third, on either replica, is refused."""
    fed = Federation(procs, tmp_path)
    slow = {**FAST_SYNC, "HEALTHNET_WRITE_RATE_PER_MINUTE": "2"}
    first_port, second_port = free_ports(2)
    one = fed.create("hub", first_port, database_url=pg_url, env=slow)
    other = procs.add("replica", one.home, second_port, slow)
    procs.start(one.proc, other)

    def write(url: str, n: int) -> httpx.Response:
        headers = {"Authorization": f"Bearer {one.token}"}
        return httpx.post(f"{url}/admin/members", json=member(n), headers=headers, timeout=30)

    answers = [write(url, n) for n, url in enumerate((one.proc.url, other.url) * 2)]
    assert [a.status_code for a in answers] == [201, 201, 429, 429], [a.text for a in answers]
    assert 1 <= int(answers[2].headers["retry-after"]) <= 30  # one write per 30 s
