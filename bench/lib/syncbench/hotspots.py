"""Hotspot checks of phase 5: what the profile points at, each next to its alternative.

These call application internals directly (the store's table, the projection, the text
folding) on purpose, and import them when they run, so that a refactor of node/ breaks
this check alone (reported as a failed phase), not the bench.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib.app import MemberBody

from syncbench.homes import NodeHome


def hotspot_checks(root: Path, source: NodeHome, *, rows: int = 2000) -> dict[str, Any]:
    """Measure, on real records of the source, the costs the profile points at, each next to
    the alternative that would remove it (no application code is changed):

    - inserting ``entries`` with ``RETURNING pk`` and ``sort_by_parameter_order=True`` (what
      ``store._project`` does): SQLite cannot correlate new rowids with parameter order, so
      SQLAlchemy's insertmanyvalues degrades to one INSERT per row; against an unordered
      ``RETURNING pk, record_id`` mapped back by ``record_id`` (unique), one statement;
    - ``projection.project`` per record, next to ``MemberBody.model_validate`` alone (what a
      second validation there costs; ``prepare`` already validated the body);
    - ``text.fold`` (NFKD + per-character generator) against an ASCII fast path.
    """
    import inspect

    from sqlalchemy import event, insert

    import node.db.store as store
    from node.db import migrate
    from node.db.engine import make_engine
    from node.db.projection import project
    from node.db.text import fold

    con = sqlite3.connect(f"file:{source.home / 'node.db'}?mode=ro", uri=True)
    try:
        found = con.execute(
            "SELECT record_id, origin, seq, version, issued_at, body FROM records "
            "WHERE origin = ? AND kind = 'member' AND current = 1 AND body IS NOT NULL "
            "ORDER BY seq LIMIT ?",
            (source.node_id, rows),
        ).fetchall()
    finally:
        con.close()
    n = len(found)
    out: dict[str, Any] = {"rows": n}
    bodies = [json.loads(r[5]) for r in found]

    def per_row(fn: Callable[[], object], count: int) -> float:
        t0 = time.perf_counter()
        fn()
        return round((time.perf_counter() - t0) / count * 1e6, 1)

    for b in bodies[:50]:  # warm-up: pycountry and langcodes load their data on first use
        project("member", b)
    projections: list[Any] = []
    out["project_us"] = per_row(lambda: projections.extend(project("member", b) for b in bodies), n)
    out["member_body_validate_us"] = per_row(
        lambda: [MemberBody.model_validate(b) for b in bodies], n
    )
    texts = [p.columns["search_text"] for p in projections] + [
        p.columns["name"] for p in projections
    ]
    out["fold_us_per_record"] = per_row(lambda: [fold(t) for t in texts], n)
    out["fold_ascii_fast_path_us_per_record"] = per_row(
        lambda: [t.casefold() if t.isascii() else fold(t) for t in texts], n
    )
    out["ascii_share_of_texts"] = round(sum(t.isascii() for t in texts) / max(len(texts), 1), 3)
    values = [
        {
            **p.columns,
            "record_id": r[0],
            "origin": r[1],
            "kind": "member",
            "version": r[3],
            "seq": r[2],
            "body": r[5],
            "updated_at": r[4],
        }
        for p, r in zip(projections, found, strict=True)
    ]
    try:
        out["store_uses_sorted_returning"] = "sort_by_parameter_order=True" in inspect.getsource(
            store._project
        )
    except (AttributeError, OSError, TypeError):
        out["store_uses_sorted_returning"] = None
    for variant in ("sorted", "unsorted_mapped"):
        engine = make_engine(f"sqlite:///{root / f'hotspot-{variant}.db'}")
        migrate.upgrade(engine)
        statements = [0]

        def _count(*_args: Any, counter: list[int] = statements) -> None:
            counter[0] += 1

        event.listen(engine, "before_cursor_execute", _count)

        with engine.begin() as conn:
            t0 = time.perf_counter()
            for start in range(0, n, 500):
                chunk = values[start : start + 500]
                if variant == "sorted":
                    stmt = insert(store.ENTRIES).returning(
                        store.ENTRIES.c.pk, sort_by_parameter_order=True
                    )
                    pks = conn.execute(stmt, chunk).scalars().all()
                else:
                    stmt = insert(store.ENTRIES).returning(
                        store.ENTRIES.c.pk, store.ENTRIES.c.record_id
                    )
                    by_id = {rid: pk for pk, rid in conn.execute(stmt, chunk)}
                    pks = [by_id[v["record_id"]] for v in chunk]
                if len(pks) != len(chunk):
                    raise RuntimeError("RETURNING lost rows")
            elapsed = time.perf_counter() - t0
        engine.dispose()
        out[f"entries_insert_{variant}_us_per_row"] = round(elapsed / n * 1e6, 1)
        out[f"entries_insert_{variant}_statements"] = statements[0]
    return out
