"""A small FastAPI app of tests/support (a hostile peer) served by uvicorn in its own
process on 127.0.0.1, waited for on ``/healthz`` and stopped by its PID."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from support.procs import HOST, child_env, stop_pid

TESTS = Path(__file__).resolve().parent.parent


class AppProcess:
    def __init__(self, app: str, port: int, log: Path, env: dict[str, str]) -> None:
        self.app, self.port, self.log, self.env = app, port, log, env
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, *, ready_within: float = 15.0) -> None:
        cmd = [
            sys.executable, "-m", "uvicorn", self.app, "--app-dir", str(TESTS),
            "--host", HOST, "--port", str(self.port), "--log-level", "warning",
            "--timeout-graceful-shutdown", "1",  # do not wait for a dripping answer
        ]  # fmt: skip
        with self.log.open("ab") as sink:
            self.proc = subprocess.Popen(
                cmd, cwd=TESTS, stdout=sink, stderr=subprocess.STDOUT,
                env=child_env(self.env), start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + ready_within
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"{self.app} exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{self.app} never answered /healthz:\n{self.output()}")
            time.sleep(0.1)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None:
            stop_pid(self.proc)

    def output(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
        except FileNotFoundError:
            return "(no output)"
