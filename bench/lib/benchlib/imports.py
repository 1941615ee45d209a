"""A timed ``healthnet import`` in this process: the figure the import ratios divide.

Wall time and the importing thread's CPU time are both taken: the import is
single-threaded and CPU-bound on SQLite, so records per CPU second hardly move when other
work slows the machine down, while records per wall second do.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from benchlib.app import import_csv
from benchlib.output import say


def timed_import(engine: Any, settings: Any, key: Any, path: Path, kind: str) -> dict[str, Any]:
    """Import one CSV file of ``kind``; rows, outcome counts, seconds and rates."""
    cpu0, t0 = time.thread_time(), time.perf_counter()
    report = import_csv(engine, settings, key, path, kind)
    wall, cpu = time.perf_counter() - t0, time.thread_time() - cpu0
    if report.errors:
        for e in report.errors[:5]:
            say(f"  ! {kind} import error: {e}")
    signed = report.created + report.updated
    return {
        "rows": report.ok + len(report.errors),
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "errors": len(report.errors),
        "seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "signed_per_s": round(signed / wall, 1) if signed else 0.0,
        "signed_per_cpu_s": round(signed / cpu, 1) if signed and cpu else 0.0,
        "rows_per_s": round((report.ok + len(report.errors)) / wall, 1),
        "us_per_row": round(wall / max(1, report.ok) * 1e6, 1),
    }
