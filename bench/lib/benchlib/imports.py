"""A timed ``healthnet import`` in this process: the figure the import ratios divide.

Wall time and the importing thread's CPU time are both taken: the import is
single-threaded and CPU-bound on SQLite, so records per CPU second hardly move when other
work slows the machine down, while records per wall second do.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from benchlib.app import MAX_ROWS, import_csv
from benchlib.output import say


def split_csv(path: Path, rows_per_file: int) -> list[Path]:
    """``path`` itself when it has at most ``rows_per_file`` data rows, else parts of it
    with the header repeated (what an operator does with a file over the import's row
    limit). Done before the clock starts. Rows never span lines in the generated data."""
    with path.open(encoding="utf-8") as fh:
        header = fh.readline()
        parts: list[Path] = []
        chunk: list[str] = []
        for line in fh:
            chunk.append(line)
            if len(chunk) == rows_per_file:
                parts.append(_part(path, len(parts), header, chunk))
                chunk = []
        if chunk or not parts:
            parts.append(_part(path, len(parts), header, chunk))
    if len(parts) == 1:
        parts[0].unlink()
        return [path]
    return parts


def _part(path: Path, n: int, header: str, lines: list[str]) -> Path:
    part = path.with_name(f"{path.stem}.part{n:03d}{path.suffix}")
    part.write_text(header + "".join(lines), encoding="utf-8")
    return part


def timed_import(engine: Any, settings: Any, key: Any, path: Path, kind: str) -> dict[str, Any]:
    """Import one CSV file of ``kind`` (in parts if it is over the import's row limit);
    rows, outcome counts, seconds and rates."""
    parts = split_csv(path, MAX_ROWS)
    cpu0, t0 = time.thread_time(), time.perf_counter()
    reports = [import_csv(engine, settings, key, part, kind) for part in parts]
    wall, cpu = time.perf_counter() - t0, time.thread_time() - cpu0
    errors = [e for r in reports for e in r.errors]
    for e in errors[:5]:
        say(f"  ! {kind} import error: {e}")
    created = sum(r.created for r in reports)
    updated = sum(r.updated for r in reports)
    ok = sum(r.ok for r in reports)
    signed = created + updated
    return {
        "rows": ok + len(errors),
        "files": len(parts),
        "created": created,
        "updated": updated,
        "unchanged": sum(r.unchanged for r in reports),
        "errors": len(errors),
        "seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "signed_per_s": round(signed / wall, 1) if signed else 0.0,
        "signed_per_cpu_s": round(signed / cpu, 1) if signed and cpu else 0.0,
        "rows_per_s": round((ok + len(errors)) / wall, 1),
        "us_per_row": round(wall / max(1, ok) * 1e6, 1),
    }
