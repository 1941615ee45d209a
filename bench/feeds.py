"""What the standard views cost a node: calendar feeds, the FHIR view, the world view.

Run: ``.venv/bin/python bench/feeds.py [--members N --events N --requests N] [--keep]``.

One ``healthnet serve`` process on 127.0.0.1 (a free port), seeded through the import path
with the same generated data as bench/node.py, is stopped by its PID before the script
exits. Requests go one at a time over one keep-alive connection; every loop is bounded in
count and time. The yardstick is measured in the same run against the same process:
``GET /healthz``, the cheapest answer this server gives (framework, routing, one small JSON
body), so each figure is printed as a ratio to it. The point of the ETag is that a calendar
client polling every few minutes should cost about as much as that floor.

The LAST line of stdout is one JSON object with every figure.
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
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
from benchlib.app import Region, init_home, open_home  # noqa: E402
from benchlib.dataset import generate  # noqa: E402
from benchlib.imports import timed_import  # noqa: E402
from benchlib.output import print_last_line, say  # noqa: E402
from benchlib.ports import free_port  # noqa: E402
from benchlib.scratch import clean_up, scratch_dir  # noqa: E402
from benchlib.servers import start_server, wait_ready  # noqa: E402
from benchlib.timing import latencies, ms, pct  # noqa: E402


def timed(
    client: httpx.Client,
    path: str,
    *,
    n: int,
    seconds: float,
    headers: dict[str, str] | None = None,
    expect: int = 200,
) -> dict[str, Any]:
    """At most ``n`` GETs of ``path`` within ``seconds``; each must answer ``expect``."""
    size = [0]

    def check(r: httpx.Response) -> None:
        if r.status_code != expect:
            raise RuntimeError(f"GET {path} answered {r.status_code}, expected {expect}")
        size[0] = len(r.content)

    lat = latencies(lambda: client.get(path, headers=headers), n=n, seconds=seconds, check=check)
    return {
        "n": len(lat),
        "p50_ms": ms(pct(lat, 50)),
        "p95_ms": ms(pct(lat, 95)),
        "mean_ms": ms(statistics.fmean(lat)),
        "bytes": size[0],
    }


def once(client: httpx.Client, path: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    r = client.get(path)
    took = time.perf_counter() - t0
    r.raise_for_status()
    return {"ms": ms(took), "bytes": len(r.content), "etag": r.headers.get("etag")}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--members", type=int, default=5000)
    p.add_argument("--events", type=int, default=2000)
    p.add_argument("--requests", type=int, default=300, help="timed requests per figure")
    p.add_argument("--seconds", type=float, default=30.0, help="time cap per figure")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--keep", action="store_true", help="keep the temp dir")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    root = scratch_dir("hn-bench-feeds-")
    server = None
    out: dict[str, Any] = {"meta": {"members": args.members, "events": args.events}}
    try:
        data = generate(root, members=args.members, events=args.events, extra=0, seed=args.seed)
        settings = init_home(
            root / "home", name="Bench", region=Region.NORTH_AMERICA, url="http://127.0.0.1:1"
        )
        engine, key = open_home(settings)
        for kind, path in (("member", data.members_csv), ("event", data.events_csv)):
            report = timed_import(engine, settings, key, path, kind)
            say(f"imported {report['created']} {kind}s in {report['seconds']} s")
        engine.dispose()
        port = free_port()
        server = start_server(
            root / "home",
            port,
            env={**os.environ, "HEALTHNET_LOG_LEVEL": "warning"},
            log=root / "server.log",
        )
        wait_ready([server], timeout=60, interval=0.2)
        n, s = args.requests, args.seconds
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            floor = timed(client, "/healthz", n=n, seconds=s)
            cold = once(client, "/events.ics")
            cold_region = once(client, "/events.ics?kind=webinar")
            figures = {
                "healthz": floor,
                "ics_built_once": cold,
                "ics_region_built_once": cold_region,
                "ics_cached": timed(client, "/events.ics", n=n, seconds=s),
                "ics_not_modified": timed(
                    client,
                    "/events.ics",
                    n=n,
                    seconds=s,
                    expect=304,
                    headers={"If-None-Match": cold["etag"]},
                ),
                "fhir_search_50": timed(client, "/fhir/Organization?_count=50", n=n, seconds=s),
                "fhir_history_100": timed(client, "/fhir/_history?_count=100", n=n, seconds=s),
                "network_json": timed(client, "/network", n=n, seconds=s),
                "world_page": timed(client, "/world", n=n, seconds=s),
            }
        base = floor["p50_ms"]
        say(f"\nfloor: GET /healthz p50 {base} ms (the ratio denominator, this run)")
        say(f"{'request':<24}{'p50 ms':>9}{'p95 ms':>9}{'x floor':>9}{'bytes':>10}")
        for name, f in figures.items():
            p50 = f.get("p50_ms", f.get("ms"))
            f["ratio_to_floor"] = round(p50 / base, 2) if base else None
            say(
                f"{name:<24}{p50:>9}{f.get('p95_ms', ''):>9}{f['ratio_to_floor']:>9}"
                f"{f['bytes']:>10}"
            )
        out["figures"] = figures
    finally:
        if server is not None:
            server.stop()
        clean_up(root, keep=args.keep)
    print_last_line(out, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
