"""Run Alembic migrations programmatically, so ``healthnet`` needs no alembic.ini on disk.

Every process that opens the database calls ``upgrade`` (each ``serve`` worker, each CLI
command). Importing Alembic costs about 11 MB of memory and a tenth of a second, which an
idle worker would carry for nothing once the schema is current (issue 13's 120 MB per
worker). So ``upgrade`` first reads the revision stamped in the database and imports
Alembic only when it differs from ``head()``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
LOGGER = "alembic"  # the logger migrations report on, for callers that quieten it


@cache
def head() -> str:
    """The newest migration's revision, read from the file names (``NNNN_name.py`` holds
    revision ``NNNN``, one linear chain) so that Alembic need not be imported to know it;
    tests/test_storage.py checks it against Alembic's own head."""
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9]*.py"))


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``. Safe to call on every start: a no-op when current,
    and then Alembic is not even imported."""
    if revision == "head" and stamped(engine) == [head()]:
        return
    from alembic import command

    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def stamped(engine: Engine) -> list[str]:
    """The revisions Alembic stamped in ``alembic_version`` (one on a linear history), or
    ``[]`` for a database Alembic has not touched yet (no such table)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:  # no table yet: a new database
        return []
    return sorted(str(r[0]) for r in rows)


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
