"""A running `healthnet demo` (six real node processes on 127.0.0.1) for tests that need a
whole federation: the browser tests and the standards clients. Started once per session."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from .procs import stop_pid

REGIONS = ["north-america", "europe", "africa", "asia", "oceania", "south-america"]


def free_base() -> int:
    """Six consecutive free ports on 127.0.0.1 (probed; a race only fails the test loudly)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + 6 > 65535:
            continue
        try:
            for port in range(base, base + 6):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no six consecutive free ports")


def serves_everything(url: str) -> bool:
    try:
        for region in REGIONS:
            page = httpx.get(f"{url}/members", params={"region": region, "count": True}, timeout=3)
            if page.status_code != 200 or page.json()["total"] < 1:
                return False
    except httpx.HTTPError:
        return False
    return True


@dataclass
class Demo:
    urls: dict[str, str]  # region -> base URL
    data: Path

    @property
    def hub(self) -> str:
        return self.urls["north-america"]


def _agree(urls: list[str]) -> bool:
    try:
        heads = [httpx.get(f"{u}/federation/heads", timeout=3).json()["origins"] for u in urls]
    except (httpx.HTTPError, ValueError, KeyError):
        return False
    views = [{o["origin"]: (o["last_seq"], o["digest"]) for o in h} for h in heads]
    return len(views[0]) == 6 and all(v == views[0] for v in views)


@contextmanager
def running_demo(root: Path) -> Iterator[Demo]:
    """Start the demo under ``root``, wait (at most 150 s) until every node serves every
    region and all six hold the same heads, and stop it by PID with Ctrl-C afterwards."""
    base = free_base()
    urls = {region: f"http://127.0.0.1:{base + i}" for i, region in enumerate(REGIONS)}
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHNET_")}
    log = (root / "demo.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "node.cli", "demo", "--port-base", str(base),
         "--data", str(root / "data")],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    try:
        deadline = time.monotonic() + 150
        ready = False
        while time.monotonic() < deadline and not ready:
            assert proc.poll() is None, (root / "demo.log").read_text()
            ready = all(serves_everything(u) for u in urls.values()) and _agree(
                list(urls.values())
            )
            if not ready:
                time.sleep(1)
        assert ready, (root / "demo.log").read_text()[-3000:]
        yield Demo(urls, root / "data")
    finally:
        stop_pid(proc, timeout=60, sig=signal.SIGINT)
        log.close()
