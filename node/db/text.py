"""Folding text for search: case- and accent-insensitive on every backend.

Text is folded here, in Python, both when it is indexed and when a query is parsed, so
SQLite's FTS5 and PostgreSQL's ``simple`` text search see identical tokens and neither
needs an extension (such as ``unaccent``) that an operator might not be allowed to install.
"""

from __future__ import annotations

import re
import unicodedata

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
MAX_QUERY_TOKENS = 8


def fold(text: str) -> str:
    if text.isascii():
        # NFKD leaves ASCII as it is and it has no combining marks; casefold is lower():
        # the same result, at a fifth of the cost, for most of what an import indexes.
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.casefold()


def tokens(text: str) -> list[str]:
    """Folded word tokens of a query, at most ``MAX_QUERY_TOKENS`` (longer input is cut)."""
    return _TOKEN.findall(fold(text))[:MAX_QUERY_TOKENS]


def index_text(*parts: str | None) -> str:
    """Folded words separated by single spaces: URLs, e-mail addresses, paths and hyphenated
    words are already split here, so PostgreSQL's parser (which would keep
    ``uzleuven@mastodon.social`` whole) and FTS5 index the same words."""
    return " ".join(word for p in parts if p for word in _TOKEN.findall(fold(p)))
