"""``healthnet serve``: a real node process over real HTTP, on SQLite and on PostgreSQL.

The path an operator takes: ``healthnet init``, ``healthnet token create``, then the
installed ``healthnet serve`` entry point as a separate process, spoken to over HTTP. (init
and token run in-process to keep this suite fast: each process start costs seconds.)
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import Result
from support.databases import BACKENDS
from support.factories import member_body
from support.procs import stop_pid
from typer.testing import CliRunner

from node.cli import app

pytestmark = pytest.mark.slow

HEALTHNET = Path(sys.executable).with_name("healthnet")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def run_cli(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (args, result.stdout, result.stderr, result.exception)
    return result


def wait_until_up(proc: subprocess.Popen[bytes], base: str, log: Path) -> httpx.Response:
    """Poll /healthz, 0.1 s apart, a bounded number of times. Start-up alone (imports) took
    ~3 s on an idle machine and ~8 s at load average 7, hence 150 tries rather than 100."""
    last: Exception | None = None
    for _ in range(150):
        if proc.poll() is not None:
            pytest.fail(f"serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            r = httpx.get(f"{base}/healthz", timeout=1.0)
            if r.status_code == 200:
                return r
        except httpx.TransportError as exc:
            last = exc
        time.sleep(0.1)
    pytest.fail(f"node never answered /healthz ({last!r}):\n{log.read_text()}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_serve_a_real_node(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    assert HEALTHNET.is_file(), f"{HEALTHNET} is not installed"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    home = tmp_path / "home"
    extra = ["--database-url", request.getfixturevalue("pg_url")] if backend == "postgres" else []
    init = run_cli("init", str(home), "--name", "Radboud UMC", "--region", "europe",
                   "--url", base, *extra)
    node_id = re.search(r"node id:\s+(hn-[a-z2-7]{24})", init.stdout)
    assert node_id, init.stdout
    token = run_cli("token", "create", str(home), "--role", "editor").stdout.strip()
    assert re.fullmatch(r"hn_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", token), token
    auth = {"Authorization": f"Bearer {token}"}

    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [str(HEALTHNET), "serve", str(home), "--port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        health = wait_until_up(proc, base, log)
        database = "sqlite" if backend == "sqlite" else "postgresql"
        assert health.json() == {"status": "ok", "database": database}

        with httpx.Client(base_url=base, timeout=10.0) as client:
            info = client.get("/node").json()
            assert info["node_id"] == node_id.group(1)
            assert info["url"] == base and info["last_seq"] == 0

            assert client.post("/admin/members", json=member_body()).status_code == 401
            r = client.post("/admin/members", json=member_body(), headers=auth)
            assert r.status_code == 201, r.text
            created = r.json()
            assert created["version"] == 1 and created["seq"] == 1

            hits = client.get("/members", params={"q": "radboud"}).json()["items"]
            assert [m["id"] for m in hits] == [created["id"]]
            assert hits[0]["city"] == "Nijmegen"
            near = client.get("/members", params={"near": "51.84,5.85", "within_km": 5})
            assert [m["id"] for m in near.json()["items"]] == [created["id"]]
            assert client.get(f"/records/{created['id']}").json() == created["record"]
            assert client.get("/node").json()["last_seq"] == 1
    finally:
        stop_pid(proc, timeout=15)
    # uvicorn shuts down gracefully, then re-raises SIGTERM (exit status -15) on purpose.
    assert proc.returncode in (0, -signal.SIGTERM), log.read_text()
    assert "Application shutdown complete" in log.read_text()
