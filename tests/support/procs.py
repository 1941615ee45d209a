"""Real node processes for the multi-process tests: ports, ``healthnet`` runs, start, wait, stop.

Every node runs as ``healthnet serve HOME --port PORT`` in its own process, bound to
127.0.0.1, with its output captured in a log file next to its home (so a failure can show
it). ``Processes`` is a context manager that stops, by PID, every process it ever started,
whatever happens in the test. Waits are bounded loops; none blocks forever.

The child environment drops every inherited ``HEALTHNET_*`` variable (a developer's
``HEALTHNET_DATABASE_URL`` must not point six nodes at one database) and then applies the
overrides given per node, e.g. :data:`FAST_SYNC`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import httpx
import pytest

HEALTHNET = Path(sys.executable).with_name("healthnet")
HOST = "127.0.0.1"
FAST_SYNC = {"HEALTHNET_SYNC_INTERVAL_SECONDS": "1", "HEALTHNET_SYNC_JITTER_SECONDS": "0"}
HEALTH_TRIES = 100
HEALTH_DELAY = 0.1
STOP_TIMEOUT = 10.0
LOG_TAIL = 6000

T = TypeVar("T")


def free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports on 127.0.0.1 (all bound at once, so no duplicates)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((HOST, 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port() -> int:
    return free_ports(1)[0]


def child_env(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHNET_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides or {})
    return env


def cli(
    *args: object,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``healthnet ARGS`` to completion; with ``check``, fail the test on a non-zero exit."""
    argv = [str(HEALTHNET), *(str(a) for a in args)]
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, env=child_env(env), check=False
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(argv[1:])} exited with {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result


def stop_pid(
    proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT, sig: int = signal.SIGTERM
) -> int:
    """``sig`` (SIGTERM; SIGINT is Ctrl-C), wait at most ``timeout`` seconds, then
    SIGKILL. Returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    return int(proc.returncode)


def kill_pid(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> int:
    """SIGKILL at once (a crash: no shutdown handlers run) and reap the process."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)
    return int(proc.returncode)


def poll_until(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.2,
    what: str = "condition",
    detail: Callable[[], str] = lambda: "",
) -> T:
    """Call ``probe`` until it returns something other than None/False, for at most
    ``timeout`` seconds; then fail with ``what`` and ``detail()``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = probe()
            if value is not None and value is not False:
                return value
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            pytest.fail(
                f"timed out after {timeout:.0f} s waiting for {what}"
                + (f" (last error: {last_error!r})" if last_error else "")
                + f"\n{detail()}"
            )
        time.sleep(interval)


@dataclass
class NodeProc:
    """One node: its home, port and environment, and its current process, if running."""

    name: str
    home: Path
    port: int
    env: dict[str, str]
    log: Path
    args: tuple[str, ...] = ()  # more ``serve`` options, e.g. ("--workers", "2")
    proc: subprocess.Popen[bytes] | None = None
    history: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def output(self, limit: int = LOG_TAIL) -> str:
        """The tail of everything this node's processes printed."""
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no output)"
        return text[-limit:]


class Processes:
    """Starts node processes and, on exit, stops every one of them by PID."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.nodes: dict[str, NodeProc] = {}
        self._started: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Processes:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()

    def add(
        self,
        name: str,
        home: Path,
        port: int,
        env: Mapping[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> NodeProc:
        node = NodeProc(name, home, port, dict(env or {}), self.root / f"{name}.log", args)
        self.nodes[name] = node
        return node

    def spawn(self, node: NodeProc) -> subprocess.Popen[bytes]:
        """Start ``healthnet serve`` for the node without waiting for it."""
        if node.running:
            raise RuntimeError(f"{node.name} is already running (pid {node.pid})")
        with node.log.open("ab") as sink:
            sink.write(f"\n===== start {node.name} on port {node.port} =====\n".encode())
            sink.flush()
            proc = subprocess.Popen(
                [
                    *(str(HEALTHNET), "serve", str(node.home)),
                    *("--host", HOST, "--port", str(node.port), *node.args),
                ],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=child_env(node.env),
                start_new_session=True,  # a signal to the test's group never reaches it
            )
        self._started.append(proc)
        node.proc = proc
        node.history.append(proc)
        return proc

    def wait_healthy(
        self, node: NodeProc, tries: int = HEALTH_TRIES, delay: float = HEALTH_DELAY
    ) -> None:
        """Poll ``GET /healthz``: at most ``tries`` attempts ``delay`` seconds apart."""
        last: object = None
        for _ in range(tries):
            if node.proc is None or node.proc.poll() is not None:
                code = None if node.proc is None else node.proc.returncode
                pytest.fail(f"{node.name} exited with {code} before it was up:\n{node.output()}")
            try:
                response = httpx.get(f"{node.url}/healthz", timeout=2.0)
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}"
            except httpx.TransportError as exc:
                last = exc
            time.sleep(delay)
        pytest.fail(
            f"{node.name} (pid {node.pid}) never answered /healthz after {tries} tries "
            f"({last!r}):\n{node.output()}"
        )

    def start(self, *nodes: NodeProc) -> None:
        """Start the nodes together, then wait until each answers ``/healthz``."""
        for node in nodes:
            self.spawn(node)
        for node in nodes:
            self.wait_healthy(node)

    def stop(self, *nodes: NodeProc) -> None:
        """Stop the nodes gracefully (SIGTERM; SIGKILL after the timeout), by PID."""
        for node in nodes:
            if node.proc is not None and node.proc.poll() is None:
                node.proc.terminate()  # all at once, then wait for each
        for node in nodes:
            if node.proc is not None:
                stop_pid(node.proc)
                node.proc = None

    def kill(self, node: NodeProc) -> None:
        """Crash the node: SIGKILL, no shutdown handlers."""
        if node.proc is not None:
            kill_pid(node.proc)
            node.proc = None

    def restart(self, node: NodeProc) -> None:
        self.stop(node)
        self.start(node)

    def stop_all(self) -> None:
        for proc in self._started:
            if proc.poll() is None:
                proc.terminate()
        for proc in self._started:
            try:
                stop_pid(proc)
            except (OSError, subprocess.SubprocessError):  # pragma: no cover - best effort
                pass
        for node in self.nodes.values():
            node.proc = None

    def running(self) -> Iterable[NodeProc]:
        return [n for n in self.nodes.values() if n.running]
