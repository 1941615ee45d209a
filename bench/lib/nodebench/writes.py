"""Signed writes over HTTP: ``POST /admin/members``, in sequence and from several clients.

Each write is a full transaction on the server (token check, validation, sequence,
canonical form, signature, storage, projection, audit row, commit), so writes per second
over loopback is what an editor, or an integration, can expect from one node.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from benchlib.machine import tree_cpu_seconds
from benchlib.output import say
from benchlib.servers import Server
from benchlib.timing import ms, pct

from nodebench.search import wait_idle

MAX_SECONDS = 120  # per write test


def http_writes(
    port: int, token: str, bodies: list[dict[str, Any]], *, clients: int, max_seconds: float
) -> dict[str, Any]:
    """POST /admin/members with one httpx.Client per client thread (own connection each)."""
    headers = {"Authorization": f"Bearer {token}"}
    lat: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.perf_counter() + max_seconds
    shares = [bodies[i::clients] for i in range(clients)]
    first_error: list[str] = []

    def work(share: list[dict[str, Any]]) -> None:
        mine: list[float] = []
        codes: dict[int, int] = {}
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60
        ) as client:
            for body in share:
                if time.perf_counter() > deadline:
                    break
                t0 = time.perf_counter()
                r = client.post("/admin/members", json=body)
                mine.append(time.perf_counter() - t0)
                codes[r.status_code] = codes.get(r.status_code, 0) + 1
                if r.status_code != 201 and not first_error:
                    first_error.append(f"{r.status_code} {r.text[:300]}")
        with lock:
            lat.extend(mine)
            for k, v in codes.items():
                statuses[k] = statuses.get(k, 0) + v

    t0 = time.perf_counter()
    threads = [threading.Thread(target=work, args=(s,)) for s in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ok = statuses.get(201, 0)
    if first_error:
        say(f"  ! write error: {first_error[0]}")
    return {
        "clients": clients,
        "requests": len(lat),
        "created": ok,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": round(wall, 2),
        "writes_per_s": round(ok / wall, 1),
        "p50_ms": ms(pct(lat, 50)) if lat else None,
        "p95_ms": ms(pct(lat, 95)) if lat else None,
    }


def write_tests(
    server: Server, token: str, bodies: list[dict[str, Any]], *, writes: int, clients: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(sequential, concurrent): ``writes`` new members each, the server's CPU per write."""
    say(
        f"\n[writes] POST /admin/members over loopback, httpx.Client per client, "
        f"{writes} members per test"
    )
    seq_bodies = bodies[:writes]
    conc_bodies = bodies[writes : 2 * writes]
    wait_idle(server.port)
    cpu0 = tree_cpu_seconds(server.pid)
    w1 = http_writes(server.port, token, seq_bodies, clients=1, max_seconds=MAX_SECONDS)
    cpu1 = tree_cpu_seconds(server.pid)
    w2 = http_writes(server.port, token, conc_bodies, clients=clients, max_seconds=MAX_SECONDS)
    cpu2 = tree_cpu_seconds(server.pid)
    w1["server_cpu_ms_per_write"] = round((cpu1 - cpu0) * 1000 / max(1, w1["requests"]), 3)
    w2["server_cpu_ms_per_write"] = round((cpu2 - cpu1) * 1000 / max(1, w2["requests"]), 3)
    for label, w in (("sequential", w1), (f"{clients} clients", w2)):
        say(
            f"  {label:<12} {w['writes_per_s']:>8,.1f} writes/s  p50 {w['p50_ms']:.2f} ms  "
            f"p95 {w['p95_ms']:.2f} ms  server CPU {w['server_cpu_ms_per_write']:.2f} ms/write"
            f"  ({w['created']}/{w['requests']} created, statuses {w['statuses']})"
        )
    return w1, w2
