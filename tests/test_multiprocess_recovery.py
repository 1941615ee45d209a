"""Real node processes on 127.0.0.1 that fail and recover: a peer killed (SIGKILL) in the
middle of pulling pages resumes from what it committed, and a partition heals (the writes
made on each side while a node is away reach every node; ``healthnet peers`` shows the
peer unhealthy, then healthy again).

Each test builds its own three-node SQLite federation (tests/support/proc_federation.py),
syncing every second; every wait is a bounded poll and every process is stopped by PID
when the test ends.
"""

from __future__ import annotations

import csv
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.proc_federation import CONVERGE_S, SITES, Node, build, member
from support.procs import HEALTHNET, Processes, child_env, cli, poll_until

pytestmark = pytest.mark.slow


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Processes]:
    with Processes(tmp_path) as p:
        yield p


# --- a peer killed mid-sync resumes --------------------------------------------------------


BATCH = 3000


def write_csv(path: Path, rows: int) -> None:
    places = [
        ("NL", "Amsterdam", 52.37, 4.89),
        ("DE", "Berlin", 52.52, 13.40),
        ("FR", "Paris", 48.86, 2.35),
    ]
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["key", "name", "kind", "country", "city", "latitude", "longitude"])
        for i in range(rows):
            country, city, lat, lon = places[i % 3]
            out.writerow(
                [f"m{i:05d}", f"{city} Hospital {i:05d}", "hospital", country, city, lat, lon]
            )


def test_peer_killed_mid_sync_resumes(procs: Processes, tmp_path: Path) -> None:
    fed = build(
        procs,
        tmp_path,
        ["hub", "europe", "asia"],
        env={"asia": {"HEALTHNET_SYNC_PAGE_SIZE": "50"}},
    )
    europe, asia = fed["europe"], fed["asia"]
    data = tmp_path / "members.csv"
    write_csv(data, BATCH)

    out_path, err_path = tmp_path / "import.out", tmp_path / "import.err"
    with out_path.open("wb") as out_fh, err_path.open("wb") as err_fh:
        importer = subprocess.Popen(
            [str(HEALTHNET), "import", str(europe.home), str(data)],
            stdout=out_fh,
            stderr=err_fh,
            env=child_env(),
        )
    try:
        # Asia pulls 50 records a page while Europe commits 500 a batch: catch it halfway.
        observed = 0
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            seq = asia.heads().get(europe.node_id, (0, 0, ""))[0]
            if 0 < seq < BATCH:
                observed = seq
                break
            assert seq < BATCH, "asia finished before it could be interrupted"
            time.sleep(0.02)
        assert 0 < observed < BATCH, f"never saw asia part way: {observed}\n{fed.logs()}"
        procs.kill(asia.proc)  # SIGKILL: in the middle of pulling pages
        importer.wait(timeout=180)
    finally:
        if importer.poll() is None:
            importer.kill()
            importer.wait(timeout=10)
    stdout = out_path.read_text(encoding="utf-8")
    assert importer.returncode == 0, (stdout, err_path.read_text(encoding="utf-8"))
    assert f"{BATCH} created" in stdout, stdout

    fed.start("asia")  # the same home: it resumes from what it committed
    samples = [observed]

    def caught_up() -> bool:
        mine = asia.heads().get(europe.node_id, (0, 0, ""))
        samples.append(mine[0])
        return mine == europe.heads()[europe.node_id]

    poll_until(caught_up, timeout=60, what="asia to catch up", detail=fed.logs)
    assert samples == sorted(samples), f"europe's last_seq went back on asia: {samples}"
    assert samples[1] >= observed
    heads = fed.wait_converged(origins=[fed.hub.node_id, europe.node_id])
    assert heads[europe.node_id][:2] == (BATCH, BATCH)  # dense: count == last_seq
    status = asia.get("/federation/status")
    assert status["quarantine"]["total"] == 0, status["quarantine"]
    assert asia.get("/members", region="europe", count="true", limit=1)["total"] == BATCH


# --- a partition heals ---------------------------------------------------------------------


def peer_row(home: Path, peer_name: str) -> tuple[str, int]:
    """`healthnet peers HOME` on one peer: its health and its failures in a row (the
    failures line is printed only when there are some)."""
    out = cli("peers", home).stdout
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(f"{peer_name} ("):
            failures = 0
            for detail in lines[i + 1 :]:
                if not detail.startswith("    "):
                    break
                if detail.strip().startswith("failures:"):
                    failures = int(detail.split()[1])
            return line.rsplit(": ", 1)[1], failures
    raise AssertionError(f"no entry for {peer_name}:\n{out}")


def peer_status(node: Node, peer_id: str) -> dict[str, Any]:
    peers = node.get("/federation/status")["peers"]
    return next(p for p in peers if p["node_id"] == peer_id)


def test_partition_heals(procs: Processes, tmp_path: Path) -> None:
    fed = build(procs, tmp_path, ["hub", "europe", "asia"])
    hub, europe, asia = fed.hub, fed["europe"], fed["asia"]
    before = {name: fed[name].post("members", SITES[name].member)["id"] for name in fed.nodes}
    fed.wait_converged()

    fed.stop("europe")
    tokyo2 = asia.post(
        "members", member("Keio University Hospital", "asia", "JP", "Tokyo", 35.68, 139.72)
    )["id"]
    cleveland = hub.post(
        "members",
        member("Cleveland Clinic", "north-america", "US", "Cleveland", 41.5025, -81.6208),
    )["id"]
    fed.wait_converged(["hub", "asia"], origins=[hub.node_id, asia.node_id])
    poll_until(
        lambda: peer_status(hub, europe.node_id)["failures"] >= 1,
        timeout=CONVERGE_S,
        what="the hub to notice europe is down",
    )
    health, failures = peer_row(hub.home, SITES["europe"].operator)
    assert health == "NOT HEALTHY" and failures >= 1, (health, failures)

    # Europe comes back while the hub and Asia are away: its write queues locally.
    fed.stop("hub", "asia")
    fed.start("europe")
    amsterdam = europe.post(
        "members", member("Amsterdam UMC", "europe", "NL", "Amsterdam", 52.294, 4.958)
    )["id"]
    assert fed.has_member("europe", amsterdam)
    assert not fed.has_member("europe", cleveland)  # europe has not heard of it yet

    fed.start("hub", "asia")
    fed.wait_converged()
    for name in fed.nodes:
        for member_id in [*before.values(), tokyo2, cleveland, amsterdam]:
            assert fed.has_member(name, member_id), (name, member_id)

    poll_until(
        lambda: peer_status(hub, europe.node_id)["failures"] == 0,
        timeout=CONVERGE_S,
        what="the hub to record europe as healthy again",
    )
    health, failures = peer_row(hub.home, SITES["europe"].operator)
    assert health == "healthy" and failures == 0, (health, failures)
