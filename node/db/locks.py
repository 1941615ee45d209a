"""PostgreSQL advisory locks: how several processes sharing one database agree that only
one of them runs the scheduler, or pulls a given peer, at a time.

Session-level locks (``pg_try_advisory_lock``), each held on a connection of its own for
as long as the lock is held: PostgreSQL releases it when that connection ends, so a
process that dies (even by SIGKILL, which closes its sockets) gives up its locks at once
and another process can take them. Transaction-level locks would not do: a pull spans
many transactions, and the scheduler lock is held for the life of the process.

The connection runs in autocommit, so holding a lock never leaves a transaction open (an
idle transaction would pin a snapshot and hold back VACUUM). The holder names itself in
``application_name`` so that any process can tell who holds a lock (``holder``) from
``pg_locks`` and ``pg_stat_activity``, without a table for it.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

NAMESPACE = 0x68_6E_65_74  # "hnet": the first key of every healthnet advisory lock


def lock_id(name: str) -> int:
    """The second key for ``name``: a stable 31-bit number (Python's ``hash`` is salted per
    process, so every process would compute a different one). Non-negative, so that it
    reads back unchanged from ``pg_locks``, whose keys are unsigned."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:4], "big") & 0x7FFFFFFF


class AdvisoryLease:
    """One held lock and the connection that holds it."""

    def __init__(self, conn: Connection, name: str) -> None:
        self._conn: Connection | None = conn
        self.name = name

    def alive(self) -> bool:
        """Whether the lock is still ours: the connection that holds it still answers. A
        database restart or a dropped connection ends the lock without telling us."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute(
                text("SELECT pg_advisory_unlock(:ns, :id)"),
                {"ns": NAMESPACE, "id": lock_id(self.name)},
            )
            conn.execute(text("SET application_name = DEFAULT"))
            conn.close()
        except SQLAlchemyError:
            # Never hand a connection that may still hold the lock back to the pool.
            conn.invalidate()
            conn.close()


def try_lock(engine: Engine, name: str, *, label: str) -> AdvisoryLease | None:
    """Take lock ``name`` if nobody holds it (never waits). ``label`` says who holds it,
    as ``holder`` reports it; PostgreSQL keeps at most 63 bytes of it."""
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        got = conn.execute(
            text("SELECT pg_try_advisory_lock(:ns, :id)"),
            {"ns": NAMESPACE, "id": lock_id(name)},
        ).scalar_one()
        if not got:
            conn.close()
            return None
        conn.execute(text("SELECT set_config('application_name', :label, false)"), {"label": label})
    except SQLAlchemyError:
        conn.invalidate()
        conn.close()
        raise
    return AdvisoryLease(conn, name)


def holder(engine: Engine, name: str) -> str | None:
    """The label of whoever holds lock ``name`` in this database now, or None."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT a.application_name FROM pg_locks l"
                " JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted"
                " AND l.database = (SELECT oid FROM pg_database"
                "                   WHERE datname = current_database())"
                " AND l.classid = CAST(:ns AS oid) AND l.objid = CAST(:id AS oid)"
                " AND l.objsubid = 2"
            ),
            {"ns": NAMESPACE, "id": lock_id(name)},
        ).scalar_one_or_none()
