"""Batched inserts and updates for the write path, straight to the DBAPI cursor.

``store.apply`` writes hundreds of rows per call (bulk import, a sync page). Through
SQLAlchemy's ORM-neutral ``session.execute(insert(T), dicts)`` every row still pays for
parameter processing in Python (several microseconds a row, as much as the database's own
work); a DBAPI ``executemany`` over plain tuples pays once per statement. The statements
are built from the table metadata, so a column added to the table is written here too,
and they run on the session's connection, inside the caller's transaction: nothing here
commits, and a failure rolls back with everything else.

Only plain INSERTs and key-matched UPDATEs live here; triggers on these tables (the
full-text index on SQLite) fire for each row exactly as they do for any other insert.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import Table
from sqlmodel import Session

Row = dict[str, Any]


def _mark(session: Session) -> str:
    """The driver's placeholder: ``?`` for sqlite3 (qmark), ``%s`` for psycopg."""
    return "?" if session.get_bind().dialect.paramstyle == "qmark" else "%s"


def _quote(session: Session, name: str) -> str:
    """A table or column name as the dialect quotes it (``current`` is a keyword)."""
    return str(session.get_bind().dialect.identifier_preparer.quote(name))


def _insert_sql(session: Session, table: Table, columns: tuple[str, ...]) -> str:
    names = ", ".join(_quote(session, c) for c in columns)
    marks = ", ".join(_mark(session) for _ in columns)
    return f"INSERT INTO {_quote(session, table.name)} ({names}) VALUES ({marks})"


def insert(session: Session, table: Table, rows: Sequence[Row], columns: Sequence[str]) -> None:
    """``INSERT`` each row's ``columns`` (other keys of the dicts are ignored)."""
    if not rows:
        return
    cols = tuple(columns)
    pick = itemgetter(*cols)
    params = [pick(r) for r in rows] if len(cols) > 1 else [(pick(r),) for r in rows]
    session.connection().exec_driver_sql(_insert_sql(session, table, cols), params)


def insert_tuples(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """``insert`` for rows that are already tuples in ``columns`` order."""
    if rows:
        sql = _insert_sql(session, table, tuple(columns))
        session.connection().exec_driver_sql(sql, list(rows))


def insert_values(
    session: Session,
    table: Table,
    rows: Sequence[Row],
    columns: Sequence[str],
    *,
    returning: Sequence[str],
) -> list[tuple[Any, ...]]:
    """``INSERT ... VALUES (...), (...), ... RETURNING`` as few statements as the
    driver's parameter limit allows, instead of an executemany of one statement per row.

    For ``entries`` on SQLite this matters: the full-text trigger writes into FTS5, which
    flushes its pending terms at the end of every statement, so one statement per row
    costs about 75 µs a row against 22 µs for one statement per few hundred rows (same
    trigger, same index contents). The order of the returned rows is not guaranteed."""
    if not rows:
        return []
    cols = tuple(columns)
    pick = itemgetter(*cols)
    mark = _mark(session)
    one = "(" + ", ".join(mark for _ in cols) + ")"
    names = ", ".join(_quote(session, c) for c in cols)
    head = f"INSERT INTO {_quote(session, table.name)} ({names}) VALUES "
    tail = " RETURNING " + ", ".join(_quote(session, c) for c in returning)
    per = max(1, min(500, _max_params(session) // len(cols)))
    found: list[tuple[Any, ...]] = []
    connection = session.connection()
    for start in range(0, len(rows), per):
        part = rows[start : start + per]
        flat = chain.from_iterable(map(pick, part)) if len(cols) > 1 else map(pick, part)
        sql = head + ", ".join(one for _ in part) + tail
        found.extend(tuple(r) for r in connection.exec_driver_sql(sql, tuple(flat)))
    return found


def _max_params(session: Session) -> int:
    """Bound parameters one statement may carry: SQLite's compiled limit (999 in old
    builds, 32766 since 3.32), PostgreSQL's protocol limit."""
    if session.get_bind().dialect.name != "sqlite":
        return 65535
    raw = session.connection().connection.driver_connection
    getlimit = getattr(raw, "getlimit", None)
    if getlimit is None:
        return 999
    return int(getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))


def update(
    session: Session,
    table: Table,
    *,
    sets: Sequence[str] = (),
    where: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    fixed_sets: Mapping[str, str] | None = None,
    fixed_where: Mapping[str, str] | None = None,
) -> None:
    """``UPDATE table SET sets... WHERE where...`` once per tuple (set values first, then
    the where values); ``fixed_sets``/``fixed_where`` map more columns to SQL literals
    (``FALSE``, ``NULL``), the same for every row."""
    if not rows:
        return
    mark = _mark(session)
    assigns = [f"{_quote(session, c)} = {mark}" for c in sets]
    assigns += [f"{_quote(session, c)} = {v}" for c, v in (fixed_sets or {}).items()]
    conds = [f"{_quote(session, c)} = {mark}" for c in where]
    conds += [f"{_quote(session, c)} = {v}" for c, v in (fixed_where or {}).items()]
    sql = (
        f"UPDATE {_quote(session, table.name)} SET {', '.join(assigns)} WHERE {' AND '.join(conds)}"
    )
    session.connection().exec_driver_sql(sql, list(rows))
