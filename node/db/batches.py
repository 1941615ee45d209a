"""Splitting a long list of keys for ``IN (...)`` queries.

Each value is one bound parameter, and SQLite caps a statement's parameters (999 in
older builds), so every lookup or delete by a list of ids goes through these chunks
rather than one statement per list; 500 leaves room for the other parameters.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

CHUNK = 500


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``values`` in consecutive slices of at most ``size``; nothing for an empty list."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
