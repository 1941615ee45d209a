"""Many clients at once: does a node's throughput hold, or collapse, under 200 concurrent
clients (issue 13)?

Run: ``.venv/bin/python bench/load.py [--members 5000] [--seconds 60] [--workers N]``.

One node (SQLite, a fresh home in a temp dir) with the North-American data set of
bench/node.py is served by a real ``healthnet serve`` on 127.0.0.1, pinned to CPU 0; the
clients run on CPU 1. Each scenario keeps ``N`` keep-alive connections busy for a fixed
time on one path (the loadgen of bench/lib: wrk when on PATH, else asyncio):

- the floor: ``/healthz`` at 32 connections, this machine's own limit for a node's HTTP
  stack, measured in the same run (every figure is also printed as a ratio to it);
- ``/members?q=health`` (a common word) and ``/members?region=north-america`` at 10
  connections, then at 200 for ``--seconds``.

The target: at 200 clients, requests/s is at least 0.9 x what 10 clients get, with no
errors. The ratio is printed per path; medians of ``--runs`` rounds. The LAST line of
stdout is one JSON object with every figure. Loopback only; the server is stopped by its
PID; every loop is bounded in count and time.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this directory is sys.path[0], and bench/node.py would shadow the
# application's ``node`` package: put bench/lib (the bench library) there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE / "lib")] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from benchlib.app import Region, import_csv, init_home, open_home  # noqa: E402
from benchlib.dataset import generate  # noqa: E402
from benchlib.loadgen import WRK_LUA, asyncio_load, asyncio_name, wrk_load  # noqa: E402
from benchlib.machine import load_average  # noqa: E402
from benchlib.output import print_last_line, say  # noqa: E402
from benchlib.ports import free_port  # noqa: E402
from benchlib.processes import healthnet_command  # noqa: E402
from benchlib.provenance import REPO, git_state  # noqa: E402
from benchlib.scratch import clean_up, scratch_dir  # noqa: E402
from benchlib.servers import start_server, wait_ready  # noqa: E402

PATHS = {"search q=health": "/members?q=health", "region list": "/members?region=north-america"}
FEW, MANY, FLOOR_CONNECTIONS = 10, 200, 32
TARGET = 0.9


def serves_workers() -> bool:
    """Whether this checkout's ``healthnet serve`` takes ``--workers`` (issue 13)."""
    out = subprocess.run(
        [*healthnet_command(), "serve", "--help"], capture_output=True, text=True,
        cwd=REPO, timeout=60, check=False,
    )  # fmt: skip
    return "--workers" in out.stdout


def one_load(wrk: str | None, port: int, path: str, n: int, seconds: float, tmp: Path) -> Any:
    if wrk:
        return wrk_load(wrk, port, path, connections=n, seconds=seconds, script=tmp / "wrk.lua")
    return asyncio_load(port, path, connections=n, seconds=seconds)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--members", type=int, default=5000)
    p.add_argument("--events", type=int, default=1000)
    p.add_argument("--seconds", type=float, default=60.0, help="each 200-client run (≤ 300)")
    p.add_argument("--few-seconds", type=float, default=15.0, help="each 10-client run")
    p.add_argument("--runs", type=int, default=1, help="rounds; medians are reported")
    p.add_argument("--workers", type=int, default=1, help="serve --workers, if it has it")
    p.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = p.parse_args()
    seconds = max(1.0, min(args.seconds, 300.0))
    few_seconds = max(1.0, min(args.few_seconds, 120.0))
    runs = max(1, min(args.runs, 10))
    wrk = shutil.which("wrk")
    all_cpus = os.sched_getaffinity(0)
    cpus = sorted(all_cpus)
    server_cpu, client_cpu = (cpus[0], cpus[1]) if len(cpus) >= 2 else (None, None)
    commit, dirty = git_state("node", "federation", "schemas", untracked=False)
    result: dict[str, Any] = {
        "meta": {
            "bench": "healthnet-load", "commit": commit, "app_tree_modified": dirty,
            "members": args.members, "events": args.events, "seconds": seconds,
            "runs": runs, "loadgen": "wrk" if wrk else asyncio_name(),
            "loadavg_1m_start": load_average()[0],
        }
    }  # fmt: skip
    tmp = scratch_dir("hn-bench-load-")
    server = None
    try:
        data = generate(tmp, members=args.members, events=args.events, extra=0, seed=7)
        port = free_port()
        settings = init_home(
            tmp / "home", name="Bench North America", region=Region.NORTH_AMERICA,
            url=f"http://127.0.0.1:{port}",
        )  # fmt: skip
        engine, key = open_home(settings)
        import_csv(engine, settings, key, data.members_csv, "member")
        import_csv(engine, settings, key, data.events_csv, "event")
        engine.dispose()
        if wrk:
            (tmp / "wrk.lua").write_text(WRK_LUA)
        env = {**os.environ, "HEALTHNET_LOG_LEVEL": "warning"}
        workers = args.workers
        if workers > 1 and not serves_workers():
            say("serve has no --workers in this checkout: running one worker")
            workers = 1
        result["meta"]["workers"] = workers
        # Several workers share every CPU (pinning them to one core would measure the
        # pin); one worker is pinned to CPU 0 and the clients to CPU 1.
        server = start_server(
            tmp / "home", port, env=env, log=tmp / "server.log",
            cpu=server_cpu if workers == 1 else None, workers=workers,
        )  # fmt: skip
        wait_ready([server], timeout=90, interval=0.2)
        if client_cpu is not None and workers == 1:
            os.sched_setaffinity(0, {client_cpu})
        say(f"healthnet load bench: {args.members:,} members, {result['meta']['workers']} "
            f"worker(s), loadgen {result['meta']['loadgen']}, temp dir {tmp}")  # fmt: skip

        floors: list[float] = []
        figures: dict[str, dict[str, list[Any]]] = {n: {"few": [], "many": []} for n in PATHS}
        for r in range(runs):
            floor = one_load(wrk, port, "/healthz", FLOOR_CONNECTIONS, few_seconds, tmp)
            floors.append(floor["req_per_s"])
            say(f"\n[round {r + 1}] floor /healthz x{FLOOR_CONNECTIONS}: "
                f"{floor['req_per_s']:,.0f} req/s")  # fmt: skip
            for name, path in PATHS.items():
                few = one_load(wrk, port, path, FEW, few_seconds, tmp)
                many = one_load(wrk, port, path, MANY, seconds, tmp)
                figures[name]["few"].append(few)
                figures[name]["many"].append(many)
                say(
                    f"  {name}: {FEW} clients {few['req_per_s']:,.0f} req/s "
                    f"(p95 {few['p95_ms']} ms); {MANY} clients {many['req_per_s']:,.0f} req/s "
                    f"(p50 {many['p50_ms']} ms, p95 {many['p95_ms']} ms), errors "
                    f"{many['non_2xx'] + many['timeouts'] + many['socket_errors']}"
                )
                time.sleep(1)  # let the server drain between scenarios
        floor_med = statistics.median(floors)
        result["floor_healthz_req_per_s"] = floor_med
        for name, runs_of in figures.items():
            few_rps = statistics.median(x["req_per_s"] for x in runs_of["few"])
            many_rps = statistics.median(x["req_per_s"] for x in runs_of["many"])
            errors = sum(x["non_2xx"] + x["timeouts"] + x["socket_errors"] for x in runs_of["many"])
            ratio = round(many_rps / few_rps, 3) if few_rps else None
            result[name] = {
                "few_clients_req_per_s": few_rps, "many_clients_req_per_s": many_rps,
                "many_over_few": ratio, "target": TARGET, "errors_at_many": errors,
                "few_over_floor": round(few_rps / floor_med, 4) if floor_med else None,
                "many_p50_ms": statistics.median(x["p50_ms"] or 0 for x in runs_of["many"]),
                "many_p95_ms": statistics.median(x["p95_ms"] or 0 for x in runs_of["many"]),
            }  # fmt: skip
            verdict = "meets" if ratio is not None and ratio >= TARGET and not errors else "misses"
            share = result[name]["few_over_floor"]
            say(f"\n{name}: {MANY}/{FEW} clients = {ratio} (target ≥ {TARGET}, 0 errors): "
                f"{verdict}; {FEW} clients = {share} x the floor")  # fmt: skip
    finally:
        if server is not None:
            server.stop()
        os.sched_setaffinity(0, all_cpus)
        clean_up(tmp, keep=args.keep)
    result["meta"]["loadavg_1m_end"] = load_average()[0]
    print_last_line(result, ensure_ascii=False, separators=(",", ":"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
