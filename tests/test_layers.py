"""The layering the code promises (docs/ARCHITECTURE.md), checked over every module's
imports so that it stays true: all SQL lives in node/db, and dependencies point one way,
schemas <- federation <- node. Parsed with ``ast``: nothing is imported or run."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATABASE_LIBRARIES = ("sqlalchemy", "sqlmodel", "alembic", "psycopg")


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at run time or for type checking alike."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def test_the_scan_sees_the_packages() -> None:
    # A scan over nothing would pass every rule below.
    assert len(_modules("node")) > 50
    assert len(_modules("federation")) > 10
    assert len(_modules("schemas")) > 5
    assert "sqlalchemy" in _imports(ROOT / "node/db/tables.py")


@pytest.mark.parametrize("path", _modules("node"), ids=_name)
def test_only_node_db_touches_the_database(path: Path) -> None:
    if path.is_relative_to(ROOT / "node/db"):
        return
    wrong = sorted(
        n for n in _imports(path) if _under(n, DATABASE_LIBRARIES) or _under(n, ("node.db.tables",))
    )
    if path == ROOT / "node/settings.py":
        # Reading a database URL's parts (for the password file) is not SQL.
        wrong = [n for n in wrong if n not in ("sqlalchemy.engine", "sqlalchemy.engine.make_url")]
    assert wrong == [], f"{_name(path)} imports {wrong}: SQL belongs in node/db"


@pytest.mark.parametrize("path", _modules("schemas") + _modules("federation"), ids=_name)
def test_dependencies_point_one_way(path: Path) -> None:
    allowed_inward = (
        ("schemas",) if path.is_relative_to(ROOT / "schemas") else ("schemas", "federation")
    )
    ours = ("schemas", "federation", "node")
    wrong = sorted(n for n in _imports(path) if _under(n, ours) and not _under(n, allowed_inward))
    assert wrong == [], f"{_name(path)} imports {wrong}"
    assert not any(_under(n, DATABASE_LIBRARIES) for n in _imports(path))


@pytest.mark.parametrize("path", _modules("node/web") + _modules("node/fhir"), ids=_name)
def test_sibling_shells_do_not_import_each_other(path: Path) -> None:
    # Pages and the FHIR view share code through node.db, node.deps and the pure modules,
    # never through the API's routers or the sync service's workings; the roster book
    # (node.sync.trustbook) is a typed runtime dependency every shell may name.
    wrong = sorted(
        n
        for n in _imports(path)
        if _under(n, ("node.api", "node.sync")) and not _under(n, ("node.sync.trustbook",))
    )
    assert wrong == [], f"{_name(path)} imports {wrong}"
