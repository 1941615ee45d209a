"""Opening a node's database: one entry point for the server, the CLI and the benchmarks.

Every path that writes goes through here, so the schema is current and the node's own
sequence row exists before the first write, whichever command runs first.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from node.db import migrate, store
from node.db.engine import make_engine, writer

log = logging.getLogger(__name__)


def open_database(url: str, *, origin: str, engine: Engine | None = None) -> Engine:
    engine = engine or make_engine(url)
    migrate.upgrade(engine)
    with Session(writer(engine)) as session:
        store.ensure_origin(session, origin=origin)
        session.commit()
    refresh_statistics(engine)
    return engine


def refresh_statistics(engine: Engine) -> None:
    """Give the query planner current table statistics. Without them SQLite picks the
    two-valued ``kind`` index for every directory query and scans all members; ``PRAGMA
    optimize`` analyses only what changed enough, so it is cheap to run often.

    It is an optimisation, never part of a write: when another connection holds the
    database (a console import finishing while a request writes, say), the refresh is
    skipped and the next one catches up, rather than failing what was already committed."""
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA analysis_limit=1000")
                conn.exec_driver_sql("PRAGMA optimize=0x10002")
            else:
                conn.exec_driver_sql("ANALYZE entries")
            conn.commit()  # the statistics are rows too: a rollback would discard them
    except OperationalError as exc:
        log.warning("table statistics not refreshed now (%s); the next refresh catches up", exc)
