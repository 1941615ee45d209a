"""The temporary directory of a run: node homes, CSV files, server logs.

Made fresh for every run (so no run sees another's database) and removed at the end,
unless ``--keep`` asks to look at it afterwards.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from benchlib.output import say


def scratch_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def clean_up(path: Path, *, keep: bool) -> None:
    """Remove ``path``, or say where it was kept."""
    if keep:
        say(f"kept {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)
