"""Shared fixtures: a node per test, on SQLite and on a real PostgreSQL server.

PostgreSQL: ``HEALTHNET_TEST_PG`` names a server (``.ci/run`` starts one); otherwise a
throwaway server is started for the session from /usr/lib/postgresql/*/bin, as the
``postgres`` user when running as root (the server refuses to run as root). Each test gets
its own database, so tests never share state.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from demokit import Demo, running_demo
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlmodel import Session

from node import tokens
from node.app import create_app
from node.home import init_home
from node.settings import NodeSettings
from schemas.geo import Region

IN_CI = bool(os.environ.get("CI"))


def _pg_bindir() -> str | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    return os.path.dirname(found[-1]) if found else None


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A maintenance URL (database ``postgres``) of a running PostgreSQL server."""
    if os.environ.get("HEALTHNET_TEST_PG"):
        yield os.environ["HEALTHNET_TEST_PG"]
        return
    bindir = _pg_bindir()
    if bindir is None:
        (pytest.fail if IN_CI else pytest.skip)("no PostgreSQL server binaries")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = tempfile.mkdtemp(prefix="hn-pg-")
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]

    def run(*args: str) -> None:
        subprocess.run(
            [*prefix, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )

    data = os.path.join(tmp, "data")
    run(
        f"{bindir}/initdb",
        "-D",
        data,
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--no-sync",
        "--no-instructions",
    )
    opts = f"-h 127.0.0.1 -p {port} -k {tmp} -c fsync=off -c synchronous_commit=off"
    run(f"{bindir}/pg_ctl", "-D", data, "-l", f"{tmp}/log", "-o", opts, "-w", "-t", "30", "start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        run(f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty database for one test."""
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield pg_server.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Parametrises a test over both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'node.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


class Clock:
    """A settable clock: tests move time instead of sleeping."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))


@dataclass
class Node:
    settings: NodeSettings
    app: FastAPI
    client: TestClient
    admin: dict[str, str]
    editor: dict[str, str]

    @property
    def engine(self):  # type: ignore[no-untyped-def]
        return self.app.state.runtime.engine


def make_node(
    home: Path,
    database_url: str,
    clock: Clock,
    *,
    region: Region = Region.EUROPE,
    name: str = "Radboud UMC",
    **overrides: object,
) -> Node:
    settings = init_home(
        home, name=name, region=region, url="http://127.0.0.1:8101", database_url=database_url
    )
    if overrides:
        settings = NodeSettings.load(home, **overrides)
    app = create_app(settings, clock=clock)
    headers = {}
    with Session(app.state.runtime.engine) as session:
        for role in tokens.Role:
            _, secret = tokens.create_token(session, role=role, label=f"test {role}", now=clock())
            headers[role] = {"Authorization": f"Bearer {secret}"}
        session.commit()
    client = TestClient(app, raise_server_exceptions=False)
    return Node(settings, app, client, headers[tokens.Role.ADMIN], headers[tokens.Role.EDITOR])


@pytest.fixture
def node(tmp_path: Path, database_url: str, clock: Clock) -> Iterator[Node]:
    """A Europe node (Radboud UMC) with an admin and an editor token, on each backend."""
    n = make_node(tmp_path / "home", database_url, clock)
    yield n
    n.client.close()
    n.engine.dispose()


@pytest.fixture
def sqlite_node(tmp_path: Path, clock: Clock) -> Iterator[Node]:
    n = make_node(tmp_path / "home", f"sqlite:///{tmp_path / 'node.db'}", clock)
    yield n
    n.client.close()
    n.engine.dispose()


def member_body(**overrides: object) -> dict[str, object]:
    """A valid European member; override any field."""
    body: dict[str, object] = {
        "name": "Radboud University Nijmegen Medical Centre",
        "kind": "academic-medical-centre",
        "region": "europe",
        "country": "NL",
        "city": "Nijmegen",
        "latitude": 51.8426,
        "longitude": 5.8528,
        "website": "https://www.radboudumc.nl",
        "social": [{"platform": "x", "handle": "@radboudumc"}],
        "topics": ["patient engagement", "innovation"],
        "languages": ["nl", "en"],
        "network_role": "community-leader",
    }
    body.update(overrides)
    return body


def event_body(**overrides: object) -> dict[str, object]:
    """A valid European event in the future of the test clock; override any field."""
    body: dict[str, object] = {
        "title": "Health Social Media Day Europe",
        "kind": "conference",
        "region": "europe",
        "timezone": "Europe/Amsterdam",
        "starts_at": "2027-03-10T09:00",
        "ends_at": "2027-03-10T17:00",
        "venue": {"city": "Nijmegen", "country": "NL", "latitude": 51.82, "longitude": 5.86},
        "topics": ["social media"],
        "language": "en",
    }
    body.update(overrides)
    return body

def node_url_factory(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> Callable[[str], str]:
    """host -> database URL, one database per node: a SQLite file, or a fresh database on
    the PostgreSQL test server, dropped when the test ends."""
    if backend == "sqlite":
        return lambda host: f"sqlite:///{tmp_path}/{host}.db"
    server: str = request.getfixturevalue("pg_server")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    names: list[str] = []

    def url(host: str) -> str:
        name = f"t_{host}_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        names.append(name)
        return server.rsplit("/", 1)[0] + "/" + name

    def drop() -> None:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()

    request.addfinalizer(drop)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def node_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], str]:
    """One database per node of an in-process federation, on each backend."""
    return node_url_factory(request, tmp_path, request.param)


def add_member(node: Node, **fields: Any) -> str:
    """Write a member through the admin API (the real path) and return its id."""
    r = node.client.post("/admin/members", json=member_body(**fields), headers=node.editor)
    assert r.status_code == 201, r.text
    mid: str = r.json()["id"]
    return mid


def add_event(node: Node, **fields: Any) -> str:
    """Write an event through the admin API and return its id."""
    r = node.client.post("/admin/events", json=event_body(**fields), headers=node.editor)
    assert r.status_code == 201, r.text
    eid: str = r.json()["id"]
    return eid


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`healthnet demo` running for the whole session (tests/demokit.py)."""
    with running_demo(tmp_path_factory.mktemp("demo")) as running:
        yield running
