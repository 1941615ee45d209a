"""PostgreSQL for the tests: a throwaway server, and fresh databases on it.

``HEALTHNET_TEST_PG`` names a server (``.ci/run`` starts one); otherwise
:func:`throwaway_server` starts one from /usr/lib/postgresql/*/bin, as the ``postgres``
user when running as root (the server refuses to run as root). Every test that reaches
PostgreSQL must carry the ``postgres`` mark (:func:`require_postgres_mark`), so that
``-m "not postgres"`` never starts a server.
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
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from . import IN_CI

# The two backends, for ``params=`` and ``parametrize``: the PostgreSQL one carries the mark.
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pg_bindir() -> str | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    return os.path.dirname(found[-1]) if found else None


@contextmanager
def throwaway_server() -> Iterator[str]:
    """Start a PostgreSQL server for as long as the block runs; yields its maintenance URL
    (database ``postgres``). Skips the test without server binaries (fails in CI)."""
    bindir = pg_bindir()
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


class Databases:
    """Fresh, empty databases on one server; :meth:`drop_all` drops every one made."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.admin = create_engine(server, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def create(self, label: str = "") -> str:
        """A new database (named after ``label`` when given) and its URL."""
        name = f"t_{label}_{uuid.uuid4().hex[:10]}" if label else "t_" + uuid.uuid4().hex[:12]
        with self.admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        self.names.append(name)
        return self.server.rsplit("/", 1)[0] + "/" + name

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.names:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        self.admin.dispose()


def require_postgres_mark(request: pytest.FixtureRequest) -> None:
    """Fail a test that reaches PostgreSQL without the ``postgres`` mark."""
    if request.node.get_closest_marker("postgres") is None:
        pytest.fail(f"{request.node.nodeid} uses PostgreSQL but has no postgres mark")


def node_url_factory(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> Callable[[str], str]:
    """host -> database URL, one database per node: a SQLite file, or a fresh database on
    the PostgreSQL test server, dropped when the test ends."""
    if backend == "sqlite":
        return lambda host: f"sqlite:///{tmp_path}/{host}.db"
    require_postgres_mark(request)
    databases = Databases(request.getfixturevalue("pg_server"))
    request.addfinalizer(databases.drop_all)
    return databases.create
