"""Full-text matching: FTS5 on SQLite, ``tsvector`` on PostgreSQL, and the choice between
looking a word's few matches up and walking the directory's order for a common one.

Split from ``node.db.search``, which orders and pages what these functions select.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    column,
    func,
    literal,
    literal_column,
    or_,
    text,
)
from sqlmodel import Session

from node.db.tables import ENTRIES


def tier_match(
    session: Session, words: list[str], dialect: str, tier: int
) -> ColumnElement[bool] | None:
    """Which entries are in a tier (0: every word in the name; 1: the other matches), or
    None when the tier is empty. On SQLite the full-text index says how many there are,
    reading at most ``FEW_MATCHES``: fewer are named outright (rowid lookups, a small
    sort); more means one entry in at most ``N / FEW_MATCHES`` is in the tier, so a walk
    in name order checking each entry's words on the covering index ``entries_fts_walk``
    (migration 0013) fills a page after a bounded number of entries, and no match set is
    materialised. PostgreSQL chooses between its GIN index and the walk from statistics."""
    if dialect != "sqlite":
        name = match(words, dialect, name_only=True)
        return name if tier == 0 else and_(match(words, dialect, name_only=False), ~name)
    expr = _fts_expr(words, name_only=True)
    if tier == 1:
        expr = f"({_fts_expr(words, name_only=False)}) NOT ({expr})"
    ids = _fts_few(session, expr)
    if ids is None:
        return words_in_row(words, tier)
    return ENTRIES.c.pk.in_(sorted(ids)) if ids else None


def words_in_row(words: list[str], tier: int | None) -> ColumnElement[bool]:
    """SQLite's full-text match checked on one entry's own columns: every word begins a
    word of the name (tier 0), of the name or the other text (None), or of those but not
    all in the name (tier 1). ``name_tokens`` and ``search_text`` are folded words joined
    by single spaces (``node.db.text.index_text``), so a word begins one exactly where
    ``' ' + word`` occurs in ``' ' + column``; a word is ``[^\\W_]+``, plain to ``instr``."""

    def starts_word(col: Any, word: str) -> ColumnElement[bool]:
        return func.instr(literal(" ").concat(col), " " + word) > 0

    name, other = ENTRIES.c.name_tokens, ENTRIES.c.search_text
    in_name = and_(*(starts_word(name, w) for w in words))
    anywhere = and_(*(or_(starts_word(name, w), starts_word(other, w)) for w in words))
    if tier == 0:
        return in_name
    return anywhere if tier is None else and_(anywhere, ~in_name)


# Below this many full-text matches (of a query, or of one tier of a ranked one), a search
# starts from the matches and sorts them; at or above it, it walks its order and stops
# after a page. SQLite has no statistics on an FTS5 result and would always pick the walk,
# which for a rare word reads every entry of the kind. At this bound the walk meets a match
# in every N / 500 entries (200 at 100k), a page in a few thousand index entries, about as
# costly as 500 rowid lookups.
FEW_MATCHES = 500


class _ManyMatches:
    """Full-text queries seen lately with at least ``FEW_MATCHES`` matches, per database.

    Telling few from many costs FTS5 a merge of every doclist the prefix names, which
    grows with the data: ``health*`` at 100k members is about 4 ms, most of a search. A
    common word stays common, so the verdict "many" is remembered for ``TTL`` seconds and
    the search walks at once. Only that verdict is kept, never a set of matches: the walk
    is correct for any number of matches, so a stale verdict costs time, not results.
    Bounded in size; each process keeps its own (it is a plan hint, not state)."""

    SIZE = 1024
    TTL = 300.0

    def __init__(self) -> None:
        self._seen: OrderedDict[tuple[str, str, int], float] = OrderedDict()

    def known(self, key: tuple[str, str, int], *, now: float) -> bool:
        stamp = self._seen.get(key)
        if stamp is None or now - stamp > self.TTL:
            self._seen.pop(key, None)
            return False
        return True

    def remember(self, key: tuple[str, str, int], *, now: float) -> None:
        self._seen[key] = now
        self._seen.move_to_end(key)
        while len(self._seen) > self.SIZE:
            self._seen.popitem(last=False)


_MANY = _ManyMatches()


def _fts_few(session: Session, expr: str) -> set[int] | None:
    """The rowids matching ``expr`` when there are fewer than ``FEW_MATCHES``, else None.
    Counted first inside SQLite: a common word's 500 rowids brought through the result
    one by one cost more than its page (1.5 ms a search at 100k), its count one row."""
    bind = session.get_bind()
    key, now = (str(bind.engine.url), expr, FEW_MATCHES), time.monotonic()
    if _MANY.known(key, now=now):
        return None
    match = "SELECT rowid FROM entries_fts WHERE entries_fts MATCH :expr"
    counted = text(f"SELECT count(*) FROM ({match} LIMIT :limit)")
    params = {"expr": expr, "limit": FEW_MATCHES}
    if int(session.execute(counted, params).scalar_one()) >= FEW_MATCHES:
        _MANY.remember(key, now=now)
        return None
    return set(session.execute(text(match), {"expr": expr}).scalars().all())


def few_matches(session: Session, words: list[str]) -> set[int] | None:
    """The rowids matching ``words`` when there are fewer than ``FEW_MATCHES``, else None;
    reading stops at that bound, so a common word costs at most that many index reads."""
    return _fts_few(session, _fts_expr(words, name_only=False))


def match(words: list[str], dialect: str, *, name_only: bool) -> ColumnElement[bool]:
    """Every word must match as a prefix. Words are ``[^\\W_]+`` after folding, so they
    cannot carry query syntax into FTS5 or ``to_tsquery``."""
    if dialect == "sqlite":
        expr = _fts_expr(words, name_only=name_only)
        # Distinct bind names: the filter and the ranking both match in one statement.
        name = "fts_name" if name_only else "fts_all"
        sub = text(f"SELECT rowid FROM entries_fts WHERE entries_fts MATCH :{name}").bindparams(
            **{name: expr}
        )
        hits: ColumnElement[bool] = ENTRIES.c.pk.in_(
            sub.columns(column("rowid", Integer)).subquery().select()
        )
        return hits
    weight = "A" if name_only else ""
    tsq = " & ".join(f"{w}:*{weight}" for w in words)
    tsvector: ColumnElement[Any] = literal_column("entries.search_tsv")
    matched: ColumnElement[bool] = tsvector.bool_op("@@")(func.to_tsquery("simple", tsq))
    return matched


def _fts_expr(words: list[str], *, name_only: bool) -> str:
    """An FTS5 query: every word as a prefix, optionally in the name column only."""
    expr = " AND ".join(f'"{w}"*' for w in words)
    return "{sort_name} : (" + expr + ")" if name_only else expr
