"""A running `healthnet demo` (six real node processes on 127.0.0.1) for tests that need a
whole federation: the browser tests and the standards clients. Started once per session.

:class:`DemoRun` is one `healthnet demo` process for the tests of the demo itself: its
output goes to a file (a pipe, as in a log) or through a pseudo-terminal it holds as its
controlling terminal (as in a terminal window, which the test can close). The PIDs, the
URLs and the data directory are read from what the demo prints.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from .procs import stop_pid

REGIONS = ["north-america", "europe", "africa", "asia", "oceania", "south-america"]


def free_base() -> int:
    """Six consecutive free ports on 127.0.0.1 (probed; a race only fails the test loudly)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = int(s.getsockname()[1])
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


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
READY = "stops all 6 nodes"  # the demo's last line once every node agrees
START_TIMEOUT = 240.0  # a start on this 2-core machine: ~10 s idle, ~1 min busy
STOP_TIMEOUT = 60.0


@dataclass
class DemoRun:
    """One `healthnet demo` process and everything it printed (see the module docstring)."""

    proc: subprocess.Popen[bytes]
    log: Path
    terminal: int | None = None  # the pty's master side, while the terminal is open
    reader: threading.Thread | None = None
    closing: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def start(cls, root: Path, *args: str, terminal: bool = False, name: str = "demo") -> DemoRun:
        """Start ``healthnet demo ARGS`` at 80 columns: into ``root/NAME.log`` or, with
        ``terminal``, on an 80x24 pseudo-terminal whose output a thread copies there."""
        argv = [sys.executable, "-m", "node.cli", "demo", *args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHNET_")}
        log = root / f"{name}.log"
        if not terminal:
            env["COLUMNS"] = "80"
            with log.open("wb") as sink:
                proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=env)
            return cls(proc, log)
        env.pop("COLUMNS", None)
        env.update(TERM="xterm-256color")
        log.write_bytes(b"")  # there before the reader thread opens it, so text() can read it
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        # A session of its own with the pty as its controlling terminal, so closing the
        # master hangs the terminal up: the kernel sends SIGHUP to the demo.
        proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)
        run = cls(proc, log, terminal=master)
        run.reader = threading.Thread(target=run._copy, args=(master,), daemon=True)
        run.reader.start()
        return run

    def _copy(self, master: int) -> None:
        with self.log.open("ab") as sink:
            while not self.closing.is_set():
                ready, _, _ = select.select([master], [], [], 0.2)
                if not ready:
                    continue
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the demo and everything else closed the pty
                    return
                if not chunk:
                    return
                sink.write(chunk)
                sink.flush()

    def close_terminal(self) -> None:
        """Hang up the demo's terminal, as closing its window does."""
        if self.terminal is not None:
            self.closing.set()
            if self.reader is not None:
                self.reader.join(timeout=5)
            os.close(self.terminal)
            self.terminal = None

    def text(self) -> str:
        """What the demo printed, as the lines read on screen: without terminal escapes,
        and of a line a carriage return went back over (a spinner), its last state."""
        raw = self.log.read_bytes().decode("utf-8", "replace").replace("\r\n", "\n")
        return "\n".join(ANSI.sub("", line.rsplit("\r", 1)[-1]) for line in raw.split("\n"))

    def wait_for(self, marker: str, timeout: float = START_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        while marker not in (text := self.text()):
            if self.proc.poll() is not None:
                pytest.fail(f"the demo exited ({self.proc.returncode}) before {marker!r}:\n{text}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {marker!r} within {timeout:.0f} s:\n{text[-4000:]}")
            time.sleep(0.5)
        return text

    def pids(self) -> dict[str, int]:
        line = re.search(r"^pids: (.*)$", self.text(), re.M)
        assert line, self.text()
        return {k: int(p) for k, p in (pair.split() for pair in line.group(1).split(", "))}

    def urls(self) -> dict[str, str]:
        return dict(re.findall(r"^(\S+) is up: (http://127\.0\.0\.1:\d+) ", self.text(), re.M))

    def data(self) -> Path:
        found = re.search(r"^data: (\S+) \(", self.text(), re.M)
        assert found, self.text()
        return Path(found.group(1))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
        """Stop the demo by PID (and, as a backstop, any node it left), then close its pty."""
        pids = self.pids() if "pids: " in self.text() else {}
        try:
            return stop_pid(self.proc, timeout=timeout, sig=sig)
        finally:
            for pid in pids.values():
                if _is_node_server(pid):
                    os.kill(pid, signal.SIGKILL)
            self.close_terminal()


def _is_node_server(pid: int) -> bool:
    """Whether ``pid`` is still a demo node's ``serve`` (not a process that reused the PID)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"serve" in cmdline and b"node.cli" in cmdline


def gone(pids: dict[str, int], urls: dict[str, str], timeout: float = 30.0) -> list[str]:
    """Wait (bounded) until no PID is alive and no URL answers; what is left, if anything."""
    deadline = time.monotonic() + timeout
    while True:
        left = [f"{k} (pid {p})" for k, p in pids.items() if _alive(p)]
        left += [f"{k} ({u})" for k, u in urls.items() if _answers(u)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True  # a zombie counts too: the demo must reap what it started


def _answers(url: str) -> bool:
    try:
        httpx.get(url + "/healthz", timeout=1)
    except httpx.HTTPError:
        return False
    return True
