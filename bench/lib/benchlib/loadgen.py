"""Load generators for the many-connections tests: wrk when installed, else asyncio.

wrk (a Debian package, not part of the project) is what the yardstick used. Without it
the built-in generator drives raw keep-alive sockets on one event loop (uvloop when
installed). Not ``httpx.AsyncClient``: at 32 concurrent requests it collapses to about
250 req/s on this machine (encode/httpx#3215), which would measure the client.

Both are bounded: a test lasts ``seconds``, and a response slower than
``REQUEST_TIMEOUT_S`` counts as a timeout (its connection is dropped, as wrk does).
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from benchlib.connection import get_request
from benchlib.timing import ms, pct

REQUEST_TIMEOUT_S = 30


def asyncio_name() -> str:
    """How the built-in generator runs here, as recorded in a bench's JSON."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio (raw sockets)"
    return "asyncio (raw sockets, uvloop)"


async def _one_response(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    low = head.lower()
    i = low.find(b"content-length:")
    if i < 0:
        raise ConnectionError("the load generator needs Content-Length")
    await reader.readexactly(int(low[i + 15 : low.find(b"\r\n", i)]))
    return head[9:12]


async def _async_worker(
    port: int, raw: bytes, deadline: float, lat: list[float], errors: list[int], cap: int
) -> None:
    """errors: [non-2xx, timeouts]. A timed-out connection is dropped, like wrk does."""
    reader, writer_ = await asyncio.open_connection("127.0.0.1", port)
    sock = writer_.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while time.perf_counter() < deadline and len(lat) < cap:
            t0 = time.perf_counter()
            writer_.write(raw)
            try:
                status = await asyncio.wait_for(_one_response(reader), REQUEST_TIMEOUT_S)
            except TimeoutError:
                errors[1] += 1
                return
            lat.append(time.perf_counter() - t0)
            if status != b"200":
                errors[0] += 1
    finally:
        writer_.close()


def asyncio_load(port: int, path: str, *, connections: int, seconds: float) -> dict[str, Any]:
    """``connections`` keep-alive sockets on one event loop, each sending its next request
    as soon as a response is read."""
    raw = get_request(port, path)
    lat: list[float] = []
    errors = [0, 0]

    async def run() -> float:
        deadline = time.perf_counter() + seconds
        t0 = time.perf_counter()
        await asyncio.gather(
            *(
                _async_worker(port, raw, deadline, lat, errors, 2_000_000)
                for _ in range(connections)
            )
        )
        return time.perf_counter() - t0

    try:
        import uvloop

        elapsed = uvloop.run(run())
    except ImportError:
        elapsed = asyncio.run(run())
    return {
        "requests": len(lat),
        "req_per_s": round(len(lat) / elapsed, 1),
        "p50_ms": ms(pct(lat, 50)) if lat else None,
        "p95_ms": ms(pct(lat, 95)) if lat else None,
        "p99_ms": ms(pct(lat, 99)) if lat else None,
        "non_2xx": errors[0],
        "timeouts": errors[1],
        "socket_errors": 0,
        "seconds": round(elapsed, 2),
    }


WRK_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"non_2xx":%d,"socket_errors":%d,' ..
    '"timeouts":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def wrk_load(
    wrk: str, port: int, path: str, *, connections: int, seconds: float, script: Path
) -> dict[str, Any]:
    """One wrk run (one thread), reported through ``script`` (``WRK_LUA`` written to a
    file) in the same shape as ``asyncio_load``."""
    cmd = [
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        f"{REQUEST_TIMEOUT_S}s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}{path}",
    ]
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=seconds + REQUEST_TIMEOUT_S + 30, check=True
    )
    line = next(x for x in out.stdout.splitlines() if x.startswith("WRKJSON "))
    data = json.loads(line.removeprefix("WRKJSON "))
    return {
        "requests": data["requests"],
        "req_per_s": round(data["requests"] / (data["duration_us"] / 1e6), 1),
        "p50_ms": data["p50_us"] / 1000,
        "p95_ms": data["p95_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "non_2xx": data["non_2xx"],
        "timeouts": data["timeouts"],
        "socket_errors": data["socket_errors"],
        "seconds": round(data["duration_us"] / 1e6, 2),
    }
