"""Which code a run measured: the repository, its commit, and where ``node`` came from.

Figures go stale as the application changes, so every bench records the commit and
whether the tree differed from it; a run against a snapshot (``PYTHONPATH``) says so.
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]  # bench/lib/benchlib/provenance.py


def git_state(*paths: str, untracked: bool = True) -> tuple[str | None, bool | None]:
    """(short commit, whether the working tree differs from it), read-only. ``paths``
    limits the comparison (bench/node.py asks about the application only);
    ``untracked=False`` ignores files git does not track."""
    status = ["git", "-C", str(REPO), "status", "--porcelain"]
    if not untracked:
        status.append("--untracked-files=no")
    if paths:
        status += ["--", *paths]
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(status, capture_output=True, text=True, timeout=10).stdout.strip()
        return head or None, bool(dirty)
    except (OSError, subprocess.SubprocessError):
        return None, None


def code_root() -> str:
    """Where ``node`` is imported from: the repository, or a snapshot on PYTHONPATH."""
    spec = importlib.util.find_spec("node")
    origin = spec.origin if spec is not None else None
    return str(Path(origin).parent.parent) if origin else "?"


def code_commit() -> str | None:
    """The commit a snapshot was made from, if its maker wrote it to ``COMMIT`` (see
    bench/sync.py's docstring); for the repository itself, ``git_state`` already says."""
    marker = Path(code_root()) / "COMMIT"
    return marker.read_text().strip() if marker.is_file() else None
