"""``--profile``: where the import's CPU time goes, stage by stage, then under cProfile.

On the first members (and the events whose organizer is among them), in a fresh SQLite
home, because the import needs an empty database and must not disturb the measured one.
CPU rather than wall time, so that other processes on the machine do not stretch the
stages. The wrappers add a few µs per record: the breakdown is for shares; the headline
rate is the un-instrumented import of bench/node.py.
"""

from __future__ import annotations

import cProfile
import csv
import io
import pstats
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib.app import Region, import_csv, init_home, open_home
from benchlib.columns import EVENT_COLUMNS
from benchlib.patching import Patch, patched, resolve
from benchlib.provenance import REPO


class Stages:
    """Exclusive CPU time (of this thread) per named stage, by wrapping functions where they
    are looked up. CPU time rather than wall time: on a shared machine other processes
    stretch wall time, not the CPU time a stage needs.

    A wrapped call's time counts for its own stage minus the time of wrapped calls inside it,
    so the stages add up to (at most) the total. Single-threaded use only."""

    def __init__(self) -> None:
        self.excl: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._stack: list[list[float]] = []

    def wrap(
        self,
        orig: Callable[..., Any],
        stage: str,
        label: Callable[[tuple[Any, ...]], str] | None = None,
    ) -> Callable[..., Any]:
        me = self

        def timed(*a: Any, **kw: Any) -> Any:
            name = label(a) if label else stage
            frame = [0.0]
            me._stack.append(frame)
            t0 = time.thread_time()
            try:
                return orig(*a, **kw)
            finally:
                el = time.thread_time() - t0
                me._stack.pop()
                me.excl[name] = me.excl.get(name, 0.0) + el - frame[0]
                me.calls[name] = me.calls.get(name, 0) + 1
                if me._stack:
                    me._stack[-1][0] += el

        return timed


def _sql_label(args: tuple[Any, ...]) -> str:
    """``SQL insert records`` etc.: the statement kind and its table, for the breakdown."""
    stmt = args[1] if len(args) > 1 else None
    kind = type(stmt).__name__.lower()
    table = getattr(stmt, "table", None)
    if table is None and hasattr(stmt, "get_final_froms"):
        froms = stmt.get_final_froms()
        table = froms[0] if froms else None
    name = getattr(table, "name", None) or str(stmt)[:30].replace("\n", " ")
    return f"SQL {kind} {name}"


CANON = "canonical_bytes (federation.canonical)"
HASHES = "body_hash / header_hash (sha256)"

# What the stage timers wrap: (module, class or "", attribute, stage). A target that the
# application no longer has is skipped, so the breakdown survives refactors.
STAGES: list[tuple[str, str, str, str]] = [
    ("federation.signing", "", "canonical_bytes", CANON),
    ("node.db.store", "", "canonical_bytes", CANON),
    ("federation.digest", "", "canonical_bytes", CANON),
    ("node.publisher", "", "canonical_bytes", CANON),
    ("federation.keys", "SigningKey", "sign", "Ed25519 sign"),
    ("node.import_rows", "", "csv_member", "CSV row -> dict"),
    ("node.import_rows", "", "csv_event", "CSV row -> dict"),
    ("node.importer", "", "validate", "validate (pydantic, importer)"),
    ("node.db.store", "", "project", "project (re-validate body, fold text)"),
    ("federation.signing", "", "body_hash", HASHES),
    ("federation.signing", "", "header_hash", HASHES),
    ("federation.digest", "", "element", "digest element"),
    ("node.importer", "", "_check_organizers", "check organizers (SQL)"),
    ("sqlalchemy.engine.base", "Connection", "execute", "SQL"),
    ("sqlalchemy.orm.session", "Session", "commit", "commit"),
]
LABELS = {"SQL": _sql_label}  # stages named per call


def stage_patches(st: Stages) -> list[Patch]:
    patches: list[Patch] = []
    for module, cls, attr, stage in STAGES:
        found = resolve(module, cls, attr)
        if found is not None:
            owner, orig = found
            patches.append((owner, attr, st.wrap(orig, stage, LABELS.get(stage))))
    return patches


def _sample_csvs(root: Path, members_csv: Path, events_csv: Path, rows: int) -> tuple[Path, Path]:
    """The first ``rows`` members, and the events whose organizer is among them."""
    m_out, e_out = root / "profile-members.csv", root / "profile-events.csv"
    keys: set[str] = set()
    with (
        members_csv.open(encoding="utf-8", newline="") as src,
        m_out.open("w", encoding="utf-8", newline="") as dst,
    ):
        reader, w = csv.reader(src), csv.writer(dst)
        w.writerow(next(reader))
        for i, row in enumerate(reader):
            if i >= rows:
                break
            keys.add(row[0])
            w.writerow(row)
    with (
        events_csv.open(encoding="utf-8", newline="") as src,
        e_out.open("w", encoding="utf-8", newline="") as dst,
    ):
        dreader = csv.DictReader(src)
        dw = csv.DictWriter(dst, EVENT_COLUMNS)
        dw.writeheader()
        for erow in dreader:
            if erow["organizer_key"] in keys:
                dw.writerow(erow)
    return m_out, e_out


def _stage_table(st: Stages, kind: str, report: Any, total: float, wall: float) -> str:
    n = max(1, report.ok)
    out = io.StringIO()
    out.write(
        f"  {kind}s: {report.created:,} signed, {total:.2f} CPU s ({wall:.2f} s wall)"
        f" with timers = {total / n * 1e6:.0f} CPU µs/rec, {len(report.errors)} "
        f"errors\n"
        f"    {'stage (exclusive CPU time)':<42} {'calls/rec':>9} {'µs/rec':>8} "
        f"{'share':>6}\n"
    )
    other = total - sum(st.excl.values())
    rows_ = sorted(st.excl.items(), key=lambda kv: -kv[1]) + [
        ("other (loop, dict building, ORM glue)", other)
    ]
    for stage, sec in rows_:
        calls = st.calls.get(stage, 0) / n
        out.write(f"    {stage:<42} {calls:>9.2f} {sec / n * 1e6:>8.1f} {sec / total:>6.1%}\n")
    return out.getvalue()


def _cprofile_text(prof: cProfile.Profile, n: int, lines: int) -> str:
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("tottime").print_stats(lines)
    text = buf.getvalue().replace(str(REPO) + "/", "")
    text = re.sub(r"\S*/site-packages/", "", text)
    return f"\n  cProfile, members import ({n:,} rows), by own time:\n{text}"


def profile_import(root: Path, members_csv: Path, events_csv: Path, rows: int, lines: int) -> str:
    """Where import time goes: (1) exclusive CPU time per stage, timed by wrappers, for
    members and events; (2) a cProfile of the members import (top ``lines`` by own time).
    Each run uses a fresh SQLite home (it needs an empty database)."""
    m_csv, e_csv = _sample_csvs(root, members_csv, events_csv, rows)
    out = io.StringIO()
    for run in ("stages", "cprofile"):
        settings = init_home(
            root / f"profile-{run}",
            name="Bench profile node",
            region=Region.NORTH_AMERICA,
            url="http://127.0.0.1:9",
        )
        engine, key = open_home(settings)
        for kind, path in (("member", m_csv), ("event", e_csv)):
            if run == "cprofile" and kind == "event":
                break
            if run == "stages":
                st = Stages()
                with patched(stage_patches(st)):
                    t0, w0 = time.thread_time(), time.perf_counter()
                    try:
                        report = import_csv(engine, settings, key, path, kind)
                    finally:
                        total, wall = time.thread_time() - t0, time.perf_counter() - w0
                out.write(_stage_table(st, kind, report, total, wall))
            else:
                prof = cProfile.Profile()
                prof.enable()
                try:
                    report = import_csv(engine, settings, key, path, kind)
                finally:
                    prof.disable()
                out.write(_cprofile_text(prof, max(1, report.ok), lines))
        engine.dispose()
    return out.getvalue()
