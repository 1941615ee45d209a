"""Printing: figures as they are measured, then one JSON object as the last line.

Every line is flushed, so a run watched with ``tail -f`` (or killed half way) shows what
was measured so far; ``tail -1`` of stdout is the machine-readable result.
"""

from __future__ import annotations

import json
from typing import Any


def say(text: str = "") -> None:
    print(text, flush=True)


def print_last_line(result: dict[str, Any], **dumps: Any) -> None:
    """The result as one JSON line; ``dumps`` are each bench's own ``json.dumps`` options,
    kept as they were so that runs stay comparable byte for byte."""
    print(json.dumps(result, **dumps), flush=True)
