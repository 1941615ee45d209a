"""Temporary wrappers around application functions, for the profilers' stage timers.

The profilers name what they time as (module, class, attribute) strings and look each
one up when they run: the application is refactored between runs, and a function that
was renamed or merged is simply skipped, so a profile keeps working and reports fewer
stages instead of failing.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

Patch = tuple[Any, str, Any]  # (owner, attribute, replacement)


def resolve(module: str, cls: str, attr: str) -> tuple[Any, Any] | None:
    """(owner, current value) of ``module[.cls].attr``, None if any part is gone."""
    try:
        owner: Any = importlib.import_module(module)
    except ImportError:
        return None
    if cls:
        owner = getattr(owner, cls, None)
    value = getattr(owner, attr, None) if owner is not None else None
    if value is None or not callable(value):
        return None
    return owner, value


@contextmanager
def patched(patches: Sequence[Patch]) -> Iterator[None]:
    """Set each attribute for the duration of the block, then restore it: the original
    value where the owner had its own, and removal where it was inherited (a class that
    took a method from its base gets the base's back)."""
    saved = [(obj, name, getattr(obj, name), name in vars(obj)) for obj, name, _ in patches]
    try:
        for obj, name, value in patches:
            setattr(obj, name, value)
        yield
    finally:
        for obj, name, value, own in reversed(saved):
            if own:
                setattr(obj, name, value)
            else:
                delattr(obj, name)
