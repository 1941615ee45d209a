"""Import tests' helpers: node homes made with `healthnet init`, and what their API
then serves (the import's outcome as a member of the directory would see it)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from click.testing import Result
from fastapi.testclient import TestClient

from node.app import create_app
from node.settings import NodeSettings
from support.cli import hn

DATA = Path(__file__).resolve().parents[1] / "data"


def make_home(tmp_path: Path, database_url: str, region: str) -> Path:
    home = tmp_path / f"home-{region}"
    name = "Mayo Clinic" if region == "north-america" else "Radboud UMC"
    hn(
        "init",
        home,
        "--name",
        name,
        "--region",
        region,
        "--url",
        "http://127.0.0.1:8102",
        "--database-url",
        database_url,
    )
    return home


@contextmanager
def api(home: Path) -> Iterator[TestClient]:
    app = create_app(NodeSettings.load(home))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client
    finally:
        app.state.runtime.engine.dispose()


def members(home: Path) -> dict[str, dict[str, Any]]:
    """Every member of the node's directory, by name."""
    with api(home) as client:
        r = client.get("/members", params={"limit": 200, "count": True})
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == len(page["items"])
    return {m["name"]: m for m in page["items"]}


def events(home: Path) -> dict[str, dict[str, Any]]:
    with api(home) as client:
        r = client.get("/events", params={"limit": 200, "from": "2000-01-01"})
    assert r.status_code == 200, r.text
    return {e["title"]: e for e in r.json()["items"]}


def node_info(home: Path) -> dict[str, Any]:
    with api(home) as client:
        info: dict[str, Any] = client.get("/node").json()
    return info


def summary(result: Result) -> str:
    match = re.search(
        r"^\d+ created, \d+ updated, \d+ unchanged, \d+ rejected$", result.stdout, re.M
    )
    assert match, result.stdout
    return match.group(0)


def error_lines(result: Result) -> list[str]:
    return [ln.strip() for ln in result.stderr.splitlines() if re.match(r"\s*line \d+:", ln)]
