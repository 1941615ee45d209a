"""End-to-end performance bench of one healthnet node (import, HTTP writes, search).

Run: ``.venv/bin/python bench/node.py [--quick] [--members N --events N] [--keep]``.
See bench/README.md for what each figure means. Everything runs on this machine: the
only network traffic goes to a ``healthnet serve`` process that this script starts on
127.0.0.1 and stops (by its PID) before it exits. Every loop is bounded in count and time.

Human-readable figures are printed as they are measured; the LAST line of stdout is one
JSON object with every figure, for machine comparison between runs.

The phases live in bench/lib/nodebench, the pieces shared with the other benches in
bench/lib/benchlib.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this directory is sys.path[0], and this file would shadow the
# application's ``node`` package: put bench/lib (the bench library) there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE / "lib")] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import cryptography  # noqa: E402
from benchlib.app import Region, editor_token, init_home, open_home, utc_now  # noqa: E402
from benchlib.dataset import generate  # noqa: E402
from benchlib.imports import timed_import  # noqa: E402
from benchlib.limits import crypto_rates  # noqa: E402
from benchlib.loadgen import asyncio_name  # noqa: E402
from benchlib.machine import load_average  # noqa: E402
from benchlib.output import print_last_line, say  # noqa: E402
from benchlib.ports import free_port  # noqa: E402
from benchlib.provenance import git_state  # noqa: E402
from benchlib.scratch import clean_up, scratch_dir  # noqa: E402
from benchlib.servers import Server, start_server, wait_ready  # noqa: E402
from nodebench import search, writes  # noqa: E402
from nodebench.profile import profile_import  # noqa: E402
from nodebench.ratios import ratios, raw_limits  # noqa: E402


@dataclass
class Results:
    """The JSON of the last line, filled by dotted paths as the phases finish."""

    data: dict[str, Any] = field(default_factory=dict)

    def put(self, path: str, value: Any) -> None:
        node = self.data
        *parents, last = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick", action="store_true", help="smoke run: 5,000 members, 1,000 events, shorter loops"
    )
    p.add_argument("--members", type=int, default=None, help="default 100000 (quick: 5000)")
    p.add_argument("--events", type=int, default=None, help="default 20000 (quick: 1000)")
    p.add_argument(
        "--writes",
        type=int,
        default=None,
        help="members POSTed over HTTP per write test (default 2000; quick: 300)",
    )
    p.add_argument("--write-clients", type=int, default=4, help="concurrent writers")
    p.add_argument(
        "--requests",
        type=int,
        default=None,
        help="timed requests per search query, one connection (default 600; quick: 200)",
    )
    p.add_argument("--connections", type=int, default=32, help="connections for req/s")
    p.add_argument(
        "--load-seconds",
        type=float,
        default=None,
        help="duration of each req/s measurement (default 10; quick: 3)",
    )
    p.add_argument(
        "--query-seconds",
        type=float,
        default=None,
        help="time cap per search query in the one-connection test (default 25; quick: 15)",
    )
    p.add_argument("--within-km", type=float, default=25.0)
    p.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "asyncio"),
        default="auto",
        help="auto: wrk when on PATH, else the built-in asyncio generator",
    )
    p.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL URL of an EMPTY database (default: SQLite in the home)",
    )
    p.add_argument(
        "--server-log-level",
        default="",
        help="HEALTHNET_LOG_LEVEL for the server (default: the node default, info, "
        "which keeps uvicorn's access log on)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="healthnet serve --workers N (default 1); with N > 1 nothing is pinned, since "
        "the workers need every CPU",
    )
    p.add_argument(
        "--no-pin",
        action="store_true",
        help="do not pin the server to CPU 0 and the clients to CPU 1",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="also: per-stage CPU breakdown and cProfile of run_import on a sample "
        "(printed, not in the JSON)",
    )
    p.add_argument("--seed", type=int, default=20261124)
    p.add_argument("--keep", action="store_true", help="keep the temp dir (home, CSV, logs)")
    args = p.parse_args(argv)
    q = args.quick
    args.members = args.members if args.members is not None else (5000 if q else 100_000)
    args.events = args.events if args.events is not None else (1000 if q else 20_000)
    args.writes = args.writes if args.writes is not None else (300 if q else 2000)
    args.requests = args.requests if args.requests is not None else (200 if q else 600)
    args.load_seconds = args.load_seconds if args.load_seconds is not None else (3 if q else 10)
    args.crypto_rounds = 3 if q else 5
    args.crypto_seconds = 0.2 if q else 0.4
    if args.query_seconds is None:
        args.query_seconds = 15.0 if q else 25.0
    return args


def import_phase(res: Results, engine: Any, settings: Any, key: Any, data: Any) -> tuple[Any, Any]:
    """Members, events, then the events again (which must sign nothing): (members, events)."""
    say("\n[import] node.importer.run_import (the `healthnet import` code path)")
    imp_m = timed_import(engine, settings, key, data.members_csv, "member")
    say(
        f"  members: {imp_m['created']:,} signed in {imp_m['seconds']} s = "
        f"{imp_m['signed_per_s']:,.0f} rec/s ({imp_m['us_per_row']} µs/rec, "
        f"cpu {imp_m['cpu_seconds']} s), {imp_m['errors']} errors"
    )
    imp_e = timed_import(engine, settings, key, data.events_csv, "event")
    say(
        f"  events:  {imp_e['created']:,} signed in {imp_e['seconds']} s = "
        f"{imp_e['signed_per_s']:,.0f} rec/s ({imp_e['us_per_row']} µs/rec), "
        f"{imp_e['errors']} errors"
    )
    imp_r = timed_import(engine, settings, key, data.events_csv, "event")
    say(
        f"  events re-import (unchanged, nothing signed): {imp_r['unchanged']:,} rows in "
        f"{imp_r['seconds']} s = {imp_r['rows_per_s']:,.0f} rows/s"
    )
    res.put("import.members", imp_m)
    res.put("import.events", imp_e)
    res.put("import.events_reimport_unchanged", imp_r)
    return imp_m, imp_e


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    wrk = shutil.which("wrk") if args.loadgen in ("auto", "wrk") else None
    if args.loadgen == "wrk" and wrk is None:
        say("--loadgen wrk: wrk is not on PATH (Debian: apt-get install -y wrk)")
        return 2
    loadgen = "wrk" if wrk else asyncio_name()
    res = Results()
    commit, dirty = git_state("node", "federation", "schemas", untracked=False)
    load_start = load_average()
    started = time.perf_counter()
    tmp = scratch_dir("hn-bench-")
    server: Server | None = None
    all_cpus = os.sched_getaffinity(0)
    pin = not args.no_pin and len(all_cpus) >= 2 and args.workers <= 1
    cpus = sorted(all_cpus)
    server_cpu, client_cpu = (cpus[0], cpus[1]) if pin else (None, None)
    rate_env = {"HEALTHNET_WRITE_RATE_PER_MINUTE": "100000000"}
    if args.server_log_level:
        rate_env["HEALTHNET_LOG_LEVEL"] = args.server_log_level
    res.put(
        "meta",
        {
            "bench": "healthnet-node",
            "schema": 1,
            "mode": "quick" if args.quick else "full",
            "commit": commit,
            "app_tree_modified": dirty,
            "started_utc": utc_now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "cryptography": cryptography.__version__,
            "cpus": len(all_cpus),
            "database": "postgresql" if args.database_url else "sqlite",
            "members": args.members,
            "events": args.events,
            "seed": args.seed,
            "loadgen": loadgen,
            "workers": args.workers,
            "pinning": f"server CPU {server_cpu}, clients CPU {client_cpu}" if pin else "none",
            "server_env": rate_env,
        },
    )
    say(
        f"healthnet node bench ({'quick' if args.quick else 'full'}): {args.members:,} members, "
        f"{args.events:,} events, {'PostgreSQL' if args.database_url else 'SQLite'}; "
        f"temp dir {tmp}"
    )
    try:
        # 1. data
        data = generate(
            tmp,
            members=args.members,
            events=args.events,
            extra=2 * max(args.writes, 1),
            seed=args.seed,
        )
        m_mb = data.members_csv.stat().st_size / 1e6
        e_mb = data.events_csv.stat().st_size / 1e6
        say(
            f"\n[data] generated in {data.seconds:.1f} s: {m_mb:.1f} MB members CSV, "
            f"{e_mb:.1f} MB events CSV; denominator record: {len(data.sample_body)} B "
            "canonical member body"
        )

        # 5 (first half). raw crypto denominators, measured again at the end
        c1 = crypto_rates(data.sample_body, rounds=args.crypto_rounds, seconds=args.crypto_seconds)

        # 2. bulk import
        port = free_port()
        home = tmp / "home"
        settings = init_home(
            home,
            name="Bench North America",
            region=Region.NORTH_AMERICA,
            url=f"http://127.0.0.1:{port}",
            database_url=args.database_url,
        )
        engine, key = open_home(settings)
        imp_m, imp_e = import_phase(res, engine, settings, key, data)
        if not args.database_url:
            db = home / "node.db"
            res.put("import.sqlite_db_mb", round(db.stat().st_size / 1e6, 1))
        token = editor_token(engine)
        engine.dispose()

        # 3/4. the real server
        say(
            f"\n[server] healthnet serve on 127.0.0.1:{port}; env "
            f"HEALTHNET_WRITE_RATE_PER_MINUTE=100000000 so the per-token write limiter "
            f"(default 600/min) does not dominate"
            + (
                f"; HEALTHNET_LOG_LEVEL={args.server_log_level}"
                if args.server_log_level
                else "; log level info (uvicorn access log on, to a file)"
            )
        )
        server = start_server(
            home, port, env={**os.environ, **rate_env}, log=tmp / "server.log",
            cpu=server_cpu, workers=args.workers,
        )  # fmt: skip
        wait_ready([server], timeout=60, interval=0.2)
        if client_cpu is not None:
            os.sched_setaffinity(0, {client_cpu})
            say(f"  pinned: server to CPU {server_cpu}, this client (and wrk) to CPU {client_cpu}")

        paths = search.search_paths(args.within_km)
        lat_res = search.one_connection(server, paths, args)
        res.put("search.single_connection", lat_res)
        res.put(
            "search.concurrent",
            search.throughput(server, paths, args, wrk=wrk, loadgen=loadgen, tmp=tmp),
        )

        # 3. signed writes over HTTP
        w1, w2 = writes.write_tests(
            server, token, data.extra_members, writes=args.writes, clients=args.write_clients
        )
        res.put("writes.sequential", w1)
        res.put("writes.concurrent", w2)

        if client_cpu is not None:
            os.sched_setaffinity(0, all_cpus)

        # 5 (second half). raw crypto again: the denominators bracket the run
        server.stop()
        c2 = crypto_rates(data.sample_body, rounds=args.crypto_rounds, seconds=args.crypto_seconds)
        record_bytes = len(data.sample_body)
        res.put("raw", raw_limits(c1, c2, record_bytes))
        res.put(
            "ratios",
            ratios(
                c1,
                c2,
                imp_m=imp_m,
                imp_e=imp_e,
                w1=w1,
                lat_res=lat_res,
                record_bytes=record_bytes,
                rounds=args.crypto_rounds,
            ),
        )

        if args.profile:
            rows = min(10_000, args.members)
            say(f"\n[profile] run_import on the first {rows:,} members and their events")
            say(profile_import(tmp, data.members_csv, data.events_csv, rows, 25))
    finally:
        if server is not None:
            server.stop()
        os.sched_setaffinity(0, all_cpus)
        clean_up(tmp, keep=args.keep)
    res.put("meta.seconds_total", round(time.perf_counter() - started, 1))
    # Other work on this shared 2-core machine shows here (1-minute load, start and end).
    res.put("meta.loadavg_1m", [load_start[0], load_average()[0]])
    say(f"\ntotal {res.data['meta']['seconds_total']} s")
    print_last_line(res.data, ensure_ascii=False, separators=(",", ":"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
