"""Rate-limit buckets in the database (node.ratelimit.SharedBuckets), so that every
process of a node spends one allowance. The arithmetic is node.ratelimit's; this module
only reads, locks and writes the rows, each a (tokens, stamp) pair."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from node.db.tables import RATE_BUCKETS

Row = tuple[float, float]

# Every write and every authenticated request runs these: they are built once, with
# parameters, since building a statement costs more than SQLite takes to run it.
_C = RATE_BUCKETS.c
_ROW = (_C.scope == bindparam("b_scope")) & (_C.key == bindparam("b_key"))
_GET = select(_C.tokens, _C.stamp).where(_ROW)
_LOCK = _GET.with_for_update()
_KEEP = (
    update(RATE_BUCKETS)
    .where(_ROW)
    .values(tokens=bindparam("b_tokens"), stamp=bindparam("b_stamp"))
)
_INSERTS = {
    "postgresql": postgresql.insert(RATE_BUCKETS).on_conflict_do_nothing(
        index_elements=[_C.scope, _C.key]
    ),
    "sqlite": sqlite.insert(RATE_BUCKETS).on_conflict_do_nothing(index_elements=[_C.scope, _C.key]),
}


def get(session: Session, *, scope: str, key: str) -> Row | None:
    """The bucket as last written, unlocked (a peek)."""
    row = session.execute(_GET, {"b_scope": scope, "b_key": key}).first()
    return None if row is None else (float(row[0]), float(row[1]))


def locked(session: Session, *, scope: str, key: str, full: Row) -> Row:
    """The bucket, locked until the transaction ends; a missing one is made ``full``
    first. Inserting before locking is what makes the first take of a new key safe too:
    two processes cannot both find no row and both start from a full bucket. (SQLite
    needs no row lock: the caller's write transaction holds the database's.)"""
    insert = _INSERTS[session.get_bind().dialect.name]
    session.execute(insert, {"scope": scope, "key": key, "tokens": full[0], "stamp": full[1]})
    row = session.execute(_LOCK, {"b_scope": scope, "b_key": key}).one()
    return float(row[0]), float(row[1])


def keep(session: Session, *, scope: str, key: str, bucket: Row) -> None:
    values = {"b_scope": scope, "b_key": key, "b_tokens": bucket[0], "b_stamp": bucket[1]}
    session.execute(_KEEP, values)


def sweep(session: Session, *, scope: str, full_before: float, keep: int) -> int:
    """Drop the buckets untouched since ``full_before`` (they are full again: the same as
    none), then all but the ``keep`` most recently touched, so that a flood of distinct
    keys cannot grow the table without limit. Returns how many went."""
    c = RATE_BUCKETS.c
    full = session.execute(delete(RATE_BUCKETS).where(c.scope == scope, c.stamp < full_before))
    newest = select(c.key).where(c.scope == scope).order_by(c.stamp.desc()).limit(keep)
    over = session.execute(delete(RATE_BUCKETS).where(c.scope == scope, c.key.not_in(newest)))
    return int(full.rowcount or 0) + int(over.rowcount or 0)  # type: ignore[attr-defined]
