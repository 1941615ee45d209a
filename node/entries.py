"""What a reader gets for one entry, and the language filter, shared by the API routers,
the web pages and the calendar (a neutral module, so no shell imports another).

An entry goes out as its stored body, which is the signed, already-validated JSON, plus
the facts the node adds (id, origin, version, when it changed; distance for ``near=``;
UTC instants for events). Nothing is re-validated on the way out.
"""

from __future__ import annotations

import json
from typing import Any

import pycountry

from node.db.search import Row
from schemas.geo import check_language


def item(row: Row, kind: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(row.body)
    data.update(id=row.record_id, origin=row.origin, version=row.version, updated_at=row.updated_at)
    if kind == "member" and row.distance_km is not None:
        data["distance_km"] = row.distance_km
    if kind == "event":
        data.update(starts_at_utc=row.starts_at, ends_at_utc=row.ends_at)
    return data


def normal_language(tag: str | None) -> str | None:
    """Filters compare with stored tags, which are normalised BCP 47 (``pt-BR``). People
    also type the language's English name (``English``, ``dutch``): that is looked up in
    ISO 639 and becomes its code. Anything else cannot match a stored tag, so it is used
    as given (no results), not refused."""
    if tag is None:
        return None
    try:
        return check_language(tag)
    except ValueError:
        pass
    try:
        language = pycountry.languages.lookup(tag.strip())
    except LookupError:
        return tag
    return str(getattr(language, "alpha_2", None) or language.alpha_3)
