"""``healthnet serve`` processes on 127.0.0.1, started by the benches and stopped by PID.

A server is ready when ``GET /healthz`` answers 200; the wait is bounded, and a server
that exits first is reported with its log. Each server's output goes to a log file
(appended, so a restarted server keeps one log). Servers run in their own session: a
Ctrl-C in the terminal reaches the bench, whose ``finally`` stops each server by its PID.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchlib.processes import healthnet_command, stop
from benchlib.provenance import REPO


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    label: str = "server"
    pinned: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        stop(self.proc)


def start_server(
    home: Path,
    port: int,
    *,
    env: dict[str, str],
    log: Path,
    label: str = "server",
    cpu: int | None = None,
    workers: int = 1,
) -> Server:
    """Start ``healthnet serve HOME`` on 127.0.0.1:``port`` with exactly ``env``; pinned to
    ``cpu`` if given (the workers a pinned server forks inherit the pin). ``workers`` > 1
    passes ``--workers``. Does not wait: see ``wait_ready``."""
    cmd = [*healthnet_command(), "serve", str(home), "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    with log.open("ab") as fh:
        proc = subprocess.Popen(
            cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True
        )
    server = Server(proc, port, log, label)
    if cpu is not None:
        os.sched_setaffinity(proc.pid, {cpu})
        server.pinned = f"server on CPU {cpu}"
    return server


def wait_ready(servers: Sequence[Server], *, timeout: float, interval: float) -> None:
    """Poll each server's /healthz every ``interval`` s until it answers 200, all within
    ``timeout`` s. Raises if a server exits or the time runs out (the caller stops it)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as http:
        for server in servers:
            while True:
                if server.proc.poll() is not None:
                    raise RuntimeError(
                        f"{server.label} exited with {server.proc.returncode}; see {server.log}"
                    )
                try:
                    if http.get(server.url + "/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{server.label} did not answer /healthz within {timeout:g} s; "
                        f"see {server.log}"
                    )
                time.sleep(interval)


class Servers:
    """Several servers by label (bench/sync.py runs up to six), each stopped by its PID."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[str, Server] = {}

    def start(self, label: str, home: Path, port: int, env: dict[str, str]) -> Server:
        server = start_server(home, port, env=env, log=self.logs / f"{label}.log", label=label)
        self.running[label] = server
        return server

    def wait_ready(self, labels: Sequence[str], timeout: float = 90) -> None:
        wait_ready([self.running[x] for x in labels], timeout=timeout, interval=0.1)

    def stop(self, label: str) -> None:
        server = self.running.pop(label, None)
        if server is not None:
            server.stop()

    def stop_all(self) -> None:
        for label in list(self.running):
            self.stop(label)

    def pid(self, label: str) -> int:
        return self.running[label].pid
