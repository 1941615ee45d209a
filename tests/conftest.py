"""Shared fixtures: a node per test, on SQLite and on a real PostgreSQL server.

PostgreSQL: ``HEALTHNET_TEST_PG`` names a server (``.ci/run`` starts one); otherwise a
throwaway server is started for the session (tests/support/databases.py). Each test gets
its own database, so tests never share state. Every PostgreSQL variant carries the
``postgres`` mark, so ``-m "not postgres"`` starts no server. The helpers the tests import
live in tests/support/; this file holds fixtures only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.browser import browser, page  # noqa: F401 (fixtures of the browser tests)
from support.clock import START, Clock
from support.databases import (
    BACKENDS,
    Databases,
    node_url_factory,
    require_postgres_mark,
    throwaway_server,
)
from support.demo import Demo, running_demo
from support.nodes import Node, make_node


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A maintenance URL (database ``postgres``) of a running PostgreSQL server."""
    if os.environ.get("HEALTHNET_TEST_PG"):
        yield os.environ["HEALTHNET_TEST_PG"]
        return
    with throwaway_server() as url:
        yield url


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty database for one test (which must carry the ``postgres`` mark: checked
    before the server is started)."""
    require_postgres_mark(request)
    databases = Databases(request.getfixturevalue("pg_server"))
    try:
        yield databases.create()
    finally:
        databases.drop_all()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Parametrises a test over both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'node.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


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


@pytest.fixture(params=BACKENDS)
def node_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], str]:
    """One database per node of an in-process federation, on each backend."""
    return node_url_factory(request, tmp_path, request.param)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`healthnet demo` running for the whole session (tests/support/demo.py)."""
    with running_demo(tmp_path_factory.mktemp("demo")) as running:
        yield running
