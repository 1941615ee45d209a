"""What a pull handles besides the puller's own state: a page as fetched, and the result.

Kept apart from ``node.sync.puller`` so the pull logic stays one screenful per concern.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from federation.checks import Checked
from federation.trust import Trust
from schemas.sync import RecordPage


@dataclass(frozen=True)
class Fetched:
    """A page, and its check on the process pool when one was started (under ``trust``)."""

    page: RecordPage
    checking: asyncio.Future[Checked] | None = None
    trust: Trust | None = None


@dataclass
class PullResult:
    """What one pull of one peer came to: the puller's answer, shown by the CLI and logs."""

    peer: str
    ok: bool
    applied: int = 0
    rejected: int = 0
    error: str = ""
    stopped: list[str] = field(default_factory=list)


def last_seq(records: Sequence[Any]) -> int | None:
    """The seq of a page's last record, read before the page is checked (to ask for the
    next page meanwhile), or None when it is not there as an integer."""
    try:
        seq = records[-1]["record"]["seq"]
    except (KeyError, TypeError, IndexError):
        return None
    return seq if type(seq) is int else None
