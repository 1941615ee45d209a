"""`healthnet demo`: six real node processes that converge, then stop on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from support.demo import REGIONS, free_base, serves_everything
from support.procs import stop_pid

pytestmark = pytest.mark.slow


def test_demo_converges_serves_every_region_everywhere_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    base = free_base()
    urls = [f"http://127.0.0.1:{base + i}" for i in range(6)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHNET_")}
    log = (tmp_path / "demo.log").open("wb")
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "node.cli",
            "demo",
            "--port-base",
            str(base),
            "--data",
            str(tmp_path / "data"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and not all(serves_everything(u) for u in urls):
            assert demo.poll() is None, (tmp_path / "demo.log").read_text()
            time.sleep(1)
        assert all(serves_everything(u) for u in urls), (tmp_path / "demo.log").read_text()
        # Every node holds every origin with the same digest.
        heads = [
            {
                o["origin"]: (o["last_seq"], o["digest"])
                for o in httpx.get(f"{u}/federation/heads", timeout=5).json()["origins"]
            }
            for u in urls
        ]
        assert len(heads[0]) == 6 and all(h == heads[0] for h in heads)
        # Placeholder leaders are labelled in the roster every node serves.
        roster = httpx.get(f"{urls[3]}/federation/roster", timeout=5).json()["body"]
        assert sum(n["placeholder"] for n in roster["nodes"]) == 4
        assert {n["region"] for n in roster["nodes"]} == set(REGIONS)
    finally:
        stop_pid(demo, timeout=60, sig=signal.SIGINT)
        log.close()
    # Every node process is gone: nothing answers on the demo's ports any more.
    for url in urls:
        with pytest.raises(httpx.HTTPError):
            httpx.get(url + "/healthz", timeout=1)
    assert "stopped south-america" in (tmp_path / "demo.log").read_text()
