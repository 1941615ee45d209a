"""The node the failure-behaviour tests (tests/test_safety_*.py) share, and an id no record
has."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from support.clock import Clock
from support.nodes import Node, make_node

RID = "0b9e6c1e-8a1c-4d8e-9d33-6c1a2b3c4d5e"  # a well-formed id that no record has


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """One SQLite node per test module, for tests that only send requests that must be
    refused: each checks that nothing was written, so they cannot affect one another. A test
    module uses it by binding it to a module name (``shared = safety_nodes.shared``)."""
    tmp = tmp_path_factory.mktemp("safety")
    clock = Clock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    n = make_node(
        tmp / "home",
        f"sqlite:///{tmp / 'node.db'}",
        clock,
        write_rate_per_minute=10**6,
        auth_failures_per_minute=10**6,
    )
    yield n
    n.client.close()
    n.engine.dispose()
