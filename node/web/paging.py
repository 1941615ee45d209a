"""Pages of results for people: "21–32 of 32", Previous and Next, over keyset cursors.

A search cursor only goes forward (it names the last row shown), which is what keeps a
page cheap however deep it is. Going back therefore needs the cursors of the pages before:
the links carry them as ``trail`` (at most :data:`TRAIL` of them, dot-separated; a cursor
is base64url, so it never holds a dot) and the page number as ``page``, which only labels
the range. Past the trail, "First page" replaces "Previous". Pure: params in, links out.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from node.errors import InvalidInput

TRAIL = 10
FIRST = "0"  # the first page's place in a trail: it has no cursor
MAX_PAGE = 100_000
_OWN = ("cursor", "trail", "page")


@dataclass(frozen=True)
class Pager:
    start: int  # 1-based position of the first row shown (0 when nothing is shown)
    end: int
    total: int | None
    previous: str | None  # link to the page before, when the trail knows its cursor
    first: str | None  # link to page 1, when "previous" cannot be offered
    next: str | None
    total_capped: bool = False  # more than ``total`` match: counting stopped there


def count_text(total: int | None, *, capped: bool) -> str:
    """A count as the reader sees it: exact, or "more than 10,000" where counting stopped
    at the cap (a count that read every match would cost more than ten pages)."""
    if total is None:
        return ""
    return f"more than {total:,}" if capped else str(total)


def page_number(params: dict[str, str]) -> int:
    text = params.get("page", "").strip()
    if not text:
        return 1
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
        raise InvalidInput([("page", f"a page number from 1 to {MAX_PAGE}")])
    return int(text)


def trail_of(params: dict[str, str]) -> list[str]:
    text = params.get("trail", "").strip()
    parts = text.split(".") if text else []
    if len(parts) > TRAIL or any(not p for p in parts):
        raise InvalidInput([("trail", "not a trail of earlier pages (follow the page links)")])
    return parts


def pager(
    params: dict[str, str],
    *,
    next_cursor: str | None,
    shown: int,
    total: int | None,
    page_size: int,
    total_capped: bool = False,
) -> Pager:
    """The range shown and the links around it. ``params`` are the page's query
    parameters as given, ``cursor`` and ``trail`` among them."""
    number = page_number(params)
    trail = trail_of(params)
    cursor = params.get("cursor") or None
    kept = {k: v for k, v in params.items() if v and k not in _OWN}

    def link(at: str | None, earlier: list[str], page: int) -> str:
        query = dict(kept)
        if at is not None:
            query["cursor"] = at
        if earlier:
            query["trail"] = ".".join(earlier)
        if page > 1:
            query["page"] = str(page)
        return "?" + urlencode(query)

    start = (number - 1) * page_size + 1 if shown else 0
    previous = first = None
    if trail:
        back = trail[-1]
        previous = link(None if back == FIRST else back, trail[:-1], number - 1)
    elif number > 1 or cursor is not None:
        first = link(None, [], 1)
    following = None
    if next_cursor is not None:
        following = link(next_cursor, [*trail, cursor or FIRST][-TRAIL:], number + 1)
    end = start + shown - 1 if shown else 0
    return Pager(start, end, total, previous, first, following, total_capped)
