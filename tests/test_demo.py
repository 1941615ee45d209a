"""`healthnet demo`: six real node processes that converge, say what they are doing, and
stop, every one of them, on Ctrl-C, SIGTERM or a closed terminal.

Each test starts the demo once (about a minute on a busy 2-core machine) and checks
everything it can on that start. Every wait is bounded; every process is stopped by PID in
a ``finally`` (tests/support/demo.py)."""

from __future__ import annotations

import io
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tomllib
from pathlib import Path

import httpx
import pytest
import tomli_w
from rich.console import Console
from support.demo import READY, REGIONS, START_TIMEOUT, DemoRun, free_base, gone, serves_everything

from node import demo
from node.errors import NodeUnreachable

pytestmark = pytest.mark.slow


def test_in_a_log_at_80_columns_it_says_everything_and_sigterm_stops_it(tmp_path: Path) -> None:
    base = free_base()
    run = DemoRun.start(tmp_path, "--port-base", str(base))
    try:
        text = run.wait_for(READY)
        pids, urls, data = run.pids(), run.urls(), run.data()
        assert list(urls.values()) != [] and sorted(urls.values()) == [
            f"http://127.0.0.1:{base + i}" for i in range(6)
        ], text
        assert set(pids) == set(urls) and len(pids) == 6
        # Where the data and the logs are; the temporary directory is the demo's own.
        assert data.is_dir() and data.name.startswith("healthnet-demo-")
        assert f"data: {data} (temporary: removed when the demo stops)" in text
        assert f"logs: {data}/NODE/serve.log" in text
        assert all((data / key / "serve.log").is_file() for key in urls)
        # Progress while the servers start: a line per node as it comes up, with its PID.
        assert text.index("starting 6 node processes") < text.index(" is up: ")
        for key, url in urls.items():
            assert f"{key} is up: {url} (pid {pids[key]}," in text
        assert text.rindex(" is up: ") < text.index("admitted europe")
        # The node table fits 80 columns and shows every URL whole.
        table = [line for line in text.splitlines() if "│" in line]
        assert table and all(len(line) <= 80 for line in table), text
        for url in urls.values():
            assert any(f" {url} " in line for line in table), (url, text)
        # Every node holds every origin with the same digest and serves every region.
        heads = [
            {
                o["origin"]: (o["last_seq"], o["digest"])
                for o in httpx.get(f"{u}/federation/heads", timeout=5).json()["origins"]
            }
            for u in urls.values()
        ]
        assert len(heads[0]) == 6 and all(h == heads[0] for h in heads)
        assert all(serves_everything(u) for u in urls.values())
        roster = httpx.get(f"{urls['asia']}/federation/roster", timeout=5).json()["body"]
        assert sum(n["placeholder"] for n in roster["nodes"]) == 4
        assert {n["region"] for n in roster["nodes"]} == set(REGIONS)
        # How to write: the printed curl line, pasted as is, creates a member on Europe.
        curl = next(line.strip() for line in text.splitlines() if line.startswith("  curl "))
        assert f"{urls['europe']}/admin/members" in curl
        if shutil.which("curl"):
            done = subprocess.run(
                [*shlex.split(curl), "-s", "-o", "/dev/null", "-w", "%{http_code}"],
                capture_output=True, text=True, timeout=30, check=False,
            )  # fmt: skip
            assert done.stdout == "201", (done.stdout, done.stderr)
        docs = f"{urls['europe']}/docs"
        assert f"API and sign-in: {docs}" in text
        assert httpx.get(docs, timeout=5).status_code == 200
        # Each node's console and a token that signs in to it, one whole line each.
        for key, url in urls.items():
            line = next(ln for ln in text.splitlines() if ln.startswith(f"  {key}: {url}/admin "))
            assert len(line.split()) == 4 and line.split()[3].startswith("hn_"), line
            with httpx.Client(base_url=url, timeout=10, follow_redirects=True) as browser:
                form = browser.get("/admin/sign-in").text
                csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
                data_ = {"csrf": csrf, "token": line.split()[3]}
                signed = browser.post("/admin/sign-in", data=data_)
                assert signed.status_code == 200 and "Sign out" in signed.text, signed.text
        assert f"kill {run.proc.pid}" in text
        # SIGTERM (`kill PID`) stops every node and removes the temporary directory.
        assert run.stop(signal.SIGTERM) == 0
        text = run.text()
        assert "SIGTERM: stopping the federation" in text
        assert gone(pids, urls) == [], text
        assert not data.exists(), text
        assert f"removed {data}" in text
    finally:
        run.stop()


def test_closing_its_terminal_stops_every_node_and_removes_its_directory(tmp_path: Path) -> None:
    run = DemoRun.start(tmp_path, "--port-base", str(free_base()), terminal=True)
    try:
        text = run.wait_for(READY)
        pids, urls, data = run.pids(), run.urls(), run.data()
        assert len(pids) == 6 and len(urls) == 6 and data.is_dir()
        # In an 80-column terminal too, each URL is whole on its table row.
        table = [line for line in text.splitlines() if "│" in line]
        for url in urls.values():
            assert any(f" {url} " in line for line in table), (url, text)
        run.close_terminal()  # the kernel sends SIGHUP to the demo
        assert run.proc.wait(timeout=60) == 0
        assert gone(pids, urls) == [], run.text()
        assert not data.exists(), run.text()
    finally:
        run.stop()


def test_a_second_run_with_data_says_it_resumes_and_ctrl_c_keeps_the_data(tmp_path: Path) -> None:
    base, data = free_base(), tmp_path / "data"
    first = DemoRun.start(
        tmp_path, "--port-base", str(base), "--data", str(data), "--exit-when-synced", name="first"
    )
    try:
        assert first.proc.wait(timeout=START_TIMEOUT) == 0, first.text()
        text = first.text()
        assert "created hub: " in text and "resuming" not in text
        assert f"data: {data} (kept: --data again resumes)" in text
        pids, urls = first.pids(), first.urls()
        assert gone(pids, urls) == [], text
        token = next(line.strip() for line in text.splitlines() if line.startswith("  hn_"))
    finally:
        first.stop()
    assert sorted(p.name for p in data.iterdir()) == sorted(urls)

    # Asked for other ports, the resumed nodes keep the ones their homes were made with.
    second = DemoRun.start(
        tmp_path, "--port-base", str(free_base()), "--data", str(data), name="second"
    )
    try:
        text = second.wait_for(READY)
        assert f"resuming the 6 demo nodes found in {data} (" in text
        assert f"they were made for --port-base {base}, so they keep those ports" in text
        assert "created " not in text and "seeded " not in text and "admitted " not in text
        assert second.urls() == urls
        assert f"  {token}\n" in text  # the same token, shown again
        pids = second.pids()
        assert second.stop(signal.SIGINT) == 0
        assert gone(pids, urls) == [], second.text()
        assert "SIGINT: stopping the federation" in second.text()
    finally:
        second.stop()
    assert sorted(p.name for p in data.iterdir()) == sorted(urls)
    assert (data / "europe" / "demo-token").stat().st_mode & 0o777 == 0o600


def test_a_node_that_cannot_start_shows_its_log_and_its_directory_goes(tmp_path: Path) -> None:
    """The hub alone, on a port something else holds: its log's end is shown before the
    temporary directory (and the log with it) is removed."""
    nodes = tomllib.loads(demo.DEFAULT_TOPOLOGY.read_text(encoding="utf-8"))["node"]
    topology = tmp_path / "hub-only.toml"
    topology.write_text(tomli_w.dumps({"node": [n for n in nodes if n.get("hub")]}))
    sink = io.StringIO()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        with pytest.raises(NodeUnreachable, match="hub exited"):
            demo.run(
                None, port, topology, exit_when_synced=True, console=Console(file=sink, width=80)
            )
    text = sink.getvalue()
    assert "--- the end of hub's log ---" in text
    assert "address already in use" in text.lower(), text
    found = re.search(r"^data: (\S+) \(temporary", text, re.M)
    assert found and not Path(found.group(1)).exists(), text
    assert "stopped hub (pid " in text
