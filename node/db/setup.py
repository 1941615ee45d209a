"""Opening a node's database: one entry point for the server, the CLI and the benchmarks.

Every path that writes goes through here, so the schema is current and the node's own
sequence row exists before the first write, whichever command runs first.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from node.db import migrate, store
from node.db.engine import make_engine, writer


def open_database(url: str, *, origin: str, engine: Engine | None = None) -> Engine:
    engine = engine or make_engine(url)
    migrate.upgrade(engine)
    with Session(writer(engine)) as session:
        store.ensure_origin(session, origin=origin)
        session.commit()
    return engine
