"""Search over HTTP against the real server: latency on one connection, then throughput.

Latency uses the raw socket client (the server's time, not httpx's); throughput uses the
load generators. Each figure comes with the server process's own CPU time per request,
which other load on the shared machine disturbs far less than latency.
"""

from __future__ import annotations

import json
import statistics
import time
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
from benchlib.connection import RawConnection, get_request
from benchlib.loadgen import REQUEST_TIMEOUT_S, WRK_LUA, asyncio_load, wrk_load
from benchlib.machine import tree_cpu_seconds
from benchlib.output import say
from benchlib.servers import Server
from benchlib.timing import latencies, ms, pct

RARE_QUERY = "Quillfeather Zenobia"  # RARE_NAME, the one member that matches
COMMON_QUERY = "health"
PREFIX_QUERY = "car"
DENSE_POINT = (41.8781, -87.6298)  # Chicago
SPARSE_POINT = (62.4540, -114.3718)  # Yellowknife: the widening steps of near= are exercised
WARMUP = 30


def search_paths(within_km: float) -> dict[str, str]:
    def q(**params: Any) -> str:
        return "/members?" + urllib.parse.urlencode(params)

    dense = f"{DENSE_POINT[0]},{DENSE_POINT[1]}"
    return {
        "q_common": q(q=COMMON_QUERY),
        "q_rare": q(q=RARE_QUERY),
        "q_prefix3": q(q=PREFIX_QUERY),
        "near": q(near=dense),
        "near_within": q(near=dense, within_km=within_km),
        "near_sparse": q(near=f"{SPARSE_POINT[0]},{SPARSE_POINT[1]}"),
    }


def match_counts(port: int, paths: dict[str, str]) -> dict[str, int | None]:
    counts: dict[str, int | None] = {}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        for name, path in paths.items():
            if "near=" in path and "within_km" not in path:
                counts[name] = None  # without a radius, every located member "matches"
                continue
            counts[name] = client.get(path + "&count=true").json().get("total")
    return counts


def single_connection_latency(
    port: int, path: str, *, n: int, warmup: int, max_seconds: float
) -> dict[str, Any]:
    conn = RawConnection(port)
    raw = get_request(port, path)
    bad = [0]

    def count_bad(response: tuple[int, bytes]) -> None:
        bad[0] += response[0] != 200

    try:
        status, body = conn.request(raw)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
        items = len(json.loads(body)["items"])
        for _ in range(warmup):
            conn.request(raw)
        lat = latencies(lambda: conn.request(raw), n=n, seconds=max_seconds, check=count_bad)
    finally:
        conn.close()
    return {
        "n": len(lat),
        "p50_ms": ms(pct(lat, 50)),
        "p95_ms": ms(pct(lat, 95)),
        "p99_ms": ms(pct(lat, 99)),
        "mean_ms": ms(statistics.fmean(lat)),
        "items": items,
        "response_bytes": len(body),
        "non_2xx": bad[0],
    }


def wait_idle(port: int, *, max_seconds: float = 60.0) -> float:
    """Wait until the server answers /healthz quickly twice in a row, so that a test does
    not pay for the backlog (e.g. abandoned requests) of the one before. Returns the wait."""
    t0 = time.perf_counter()
    fast = 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=max_seconds) as client:
        while time.perf_counter() - t0 < max_seconds and fast < 2:
            t1 = time.perf_counter()
            client.get("/healthz")
            fast = fast + 1 if time.perf_counter() - t1 < 0.05 else 0
            time.sleep(0.1)
    return round(time.perf_counter() - t0, 2)


def one_connection(server: Server, paths: dict[str, str], args: Any) -> dict[str, Any]:
    """Every query on one keep-alive connection; printed as a table, returned by name."""
    counts = match_counts(server.port, paths)
    say(
        f"\n[search] one connection (raw keep-alive socket client), "
        f"{args.requests} timed requests per query after {WARMUP} warm-up (at most "
        f"{args.query_seconds:g} s per query; n = requests timed; srv ms = server CPU "
        "per request)"
    )
    say(
        f"  {'query':<13} {'matches':>8} {'items':>5} {'bytes':>7} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'p99 ms':>8} {'srv ms':>8} {'n':>5}  path"
    )
    out: dict[str, Any] = {}
    for name, path in paths.items():
        cpu0 = tree_cpu_seconds(server.pid)
        r = single_connection_latency(
            server.port, path, n=args.requests, warmup=WARMUP, max_seconds=args.query_seconds
        )
        r["server_cpu_ms_per_req"] = round(
            (tree_cpu_seconds(server.pid) - cpu0) * 1000 / (r["n"] + WARMUP + 1), 3
        )
        r["matches"] = counts[name]
        r["path"] = path
        out[name] = r
        shown = "-" if counts[name] is None else f"{counts[name]:,}"
        say(
            f"  {name:<13} {shown:>8} {r['items']:>5} {r['response_bytes']:>7} "
            f"{r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} {r['p99_ms']:>8.2f} "
            f"{r['server_cpu_ms_per_req']:>8.2f} {r['n']:>5}  {path}"
        )
    return out


FLOOR_PATH = "/healthz"  # the node's HTTP stack and nothing else: the bare floor
THROUGHPUT_TARGET = 0.25  # each search query's req/s ÷ the floor's, with --workers 2


def throughput(
    server: Server, paths: dict[str, str], args: Any, *, wrk: str | None, loadgen: str, tmp: Path
) -> dict[str, Any]:
    """``args.connections`` connections for ``args.load_seconds`` on the bare floor
    (``/healthz``) and then on every search query, each after the server has drained what
    the previous test left queued. Each query's req/s is also given as a share of the
    floor's, measured minutes apart on the same server: the ratio, not the absolute
    rate, is what compares across machines and runs."""
    say(
        f"\n[search] throughput, {args.connections} connections, {args.load_seconds:g} s "
        f"each, load generator: {loadgen}, {getattr(args, 'workers', 1)} worker(s)"
    )
    out: dict[str, Any] = {}
    script = tmp / "report.lua"
    script.write_text(WRK_LUA, encoding="utf-8")
    floor = 0.0
    for name, path in (("floor_healthz", FLOOR_PATH), *paths.items()):
        waited = wait_idle(server.port)
        cpu0 = tree_cpu_seconds(server.pid)
        if wrk:
            r = wrk_load(
                wrk, server.port, path, connections=args.connections,
                seconds=args.load_seconds, script=script,
            )  # fmt: skip
        else:
            r = asyncio_load(
                server.port, path, connections=args.connections, seconds=args.load_seconds
            )
        served = max(1, r["requests"])
        r["server_cpu_ms_per_req"] = round((tree_cpu_seconds(server.pid) - cpu0) * 1000 / served, 3)
        r["idle_wait_s"] = waited
        if name == "floor_healthz":
            floor = r["req_per_s"]
        else:
            r["over_floor"] = round(r["req_per_s"] / floor, 4) if floor else None
        out[name] = r
        share = f"  {r['over_floor']:.3f} x floor" if "over_floor" in r else ""
        say(
            f"  {name:<13} {r['req_per_s']:>9,.1f} req/s  p50 {r['p50_ms']:.1f} ms  "
            f"p99 {r['p99_ms']:.1f} ms  server CPU {r['server_cpu_ms_per_req']:.2f} ms/req  "
            f"({r['requests']:,} responses, {r['non_2xx']} non-2xx, "
            f"{r['timeouts']} timeouts > {REQUEST_TIMEOUT_S} s){share}"
        )
    shares = {k: v["over_floor"] for k, v in out.items() if "over_floor" in v}
    below = sorted(k for k, v in shares.items() if v is None or v < THROUGHPUT_TARGET)
    say(
        f"  each query ÷ floor: worst {min((v or 0) for v in shares.values()):.3f} "
        f"(target ≥ {THROUGHPUT_TARGET} with --workers 2)"
        + (f"; below: {', '.join(below)}" if below else "")
    )
    return {
        "connections": args.connections, "loadgen": loadgen,
        "workers": getattr(args, "workers", 1), "target_over_floor": THROUGHPUT_TARGET,
        "queries_below_target": below, **out,
    }  # fmt: skip
