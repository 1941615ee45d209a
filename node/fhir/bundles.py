"""Bundles (``searchset`` and ``history``), their entries, links and cursors. Pure.

Paging is keyset, like the JSON API's: a cursor carries the sort key of the last entry
served and the next page starts strictly after it ("exclusive cursor: a page never repeats
its last entry"). Cursors are opaque to clients, self-contained (no server-side state) and
bound to their query by a fingerprint, so a cursor cannot be replayed against other filters.

History order is the order this node *received* versions: ``(received_at, origin, seq)``,
then the part (0: the Organization, 1: the Location a record also yields). That order only
grows at its end (up to the settling window, see ``SETTLE``), so a harvester paging through
it meets every change that was committed before the first page was read.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from federation.canonical import b64url, b64url_decode
from federation.errors import WireFormatError
from node.fhir import resources
from node.fhir.errors import bad
from node.fhir.params import History, Search
from node.fhir.resources import Version
from schemas.instants import format_utc

# How long a write may take between reading the clock (its ``received_at``) and
# committing. A history Bundle's meta.lastUpdated is the time its first page was read
# minus this, so a version stamped earlier but committed later is still at or after the
# next ``_since``. Writes hold no lock across network calls; five minutes is far above
# the SQLite busy timeout (30 s) and any page or import batch.
SETTLE = timedelta(minutes=5)

ORGANIZATION, LOCATION = 0, 1
_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")  # format_utc's
PART_TYPE = {ORGANIZATION: "Organization", LOCATION: "Location"}


def _fingerprint(fields: Sequence[object]) -> str:
    raw = json.dumps(list(fields), sort_keys=True, default=str).encode()
    return b64url(hashlib.sha256(raw).digest()[:9])


def _encode(payload: list[Any]) -> str:
    return b64url(json.dumps(payload, separators=(",", ":")).encode())


def _decode(cursor: str, shape: tuple[type, ...]) -> list[Any]:
    """A cursor's values, checked one by one: it is client input, and an edited one must
    be a 400, never reach SQL with the wrong types."""
    invalid = bad("cursor", "not a cursor issued by this node")
    if len(cursor) > 600:
        raise invalid
    try:
        data = json.loads(b64url_decode(cursor, field="cursor"))
    except (ValueError, WireFormatError) as exc:
        raise invalid from exc
    if not isinstance(data, list) or len(data) != len(shape):
        raise invalid
    for value, expected in zip(data, shape, strict=True):
        if type(value) is not expected:
            raise invalid
        if type(value) is int and not 0 <= value < 2**53:
            raise invalid
        if type(value) is str and ("\x00" in value or len(value) > 100):
            raise invalid
    return data


# --------------------------------------------------------------------------- searchset


def search_cursor(search: Search, last_pk: int) -> str:
    return _encode(["s", _fingerprint(search.fingerprint_fields()), last_pk])


def search_after(search: Search) -> int | None:
    """The ``entries.pk`` a page starts after, from the request's cursor."""
    if search.cursor is None:
        return None
    kind, fingerprint, pk = _decode(search.cursor, (str, str, int))
    if kind != "s" or fingerprint != _fingerprint(search.fingerprint_fields()):
        raise bad("cursor", "it belongs to a different search")
    return int(pk)


def _link(base: str, path: str, query: Sequence[tuple[str, str]]) -> str:
    return f"{base}/{path}" + (f"?{urlencode(list(query))}" if query else "")


def searchset(
    *,
    base: str,
    search: Search,
    found: Sequence[dict[str, Any]],
    total: int | None,
    next_cursor: str | None,
    now: datetime,
) -> dict[str, Any]:
    query = [*search.applied, ("_count", str(search.count))]
    links = [
        {
            "relation": "self",
            "url": _link(
                base,
                search.resource,
                query + ([("cursor", search.cursor)] if search.cursor else []),
            ),
        }
    ]
    if next_cursor is not None:
        links.append(
            {
                "relation": "next",
                "url": _link(base, search.resource, [*query, ("cursor", next_cursor)]),
            }
        )
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
            "resource": r,
            "search": {"mode": "match"},
        }
        for r in found
    ]
    if search.ignored:
        # Lenient handling: say what was ignored, in the place FHIR keeps for that.
        outcome = resources.operation_outcome(
            "not-supported",
            "ignored unsupported parameters: " + ", ".join(search.ignored),
            severity="warning",
        )
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "meta": {"lastUpdated": format_utc(now)},
        "type": "searchset",
    }
    if total is not None:
        bundle["total"] = total
    bundle["link"] = links
    if entries:
        bundle["entry"] = entries
    return bundle


# --------------------------------------------------------------------------- history


@dataclass(frozen=True)
class Position:
    """Where a history page stands: its harvest's watermark and the last entry served."""

    watermark: str  # meta.lastUpdated of every page of this harvest
    received_at: str = ""
    origin: str = ""
    seq: int = 0
    part: int = -1  # -1: nothing served yet

    @property
    def started(self) -> bool:
        return self.part >= 0


def _history_fields(history: History, path: str) -> list[object]:
    return [path, history.types, history.since]


def history_start(history: History, path: str, now: datetime) -> Position:
    """The position a request continues from: its cursor's, or a fresh harvest whose
    watermark is ``now - SETTLE``."""
    if history.cursor is None:
        return Position(watermark=format_utc(now - SETTLE))
    kind, fingerprint, watermark, received_at, origin, seq, part = _decode(
        history.cursor, (str, str, str, str, str, int, int)
    )
    if kind != "h" or fingerprint != _fingerprint(_history_fields(history, path)):
        raise bad("cursor", "it belongs to a different history")
    if part not in PART_TYPE or not _INSTANT.fullmatch(watermark):
        raise bad("cursor", "not a cursor issued by this node")
    return Position(watermark, received_at, origin, int(seq), int(part))


def history_cursor(history: History, path: str, at: Position) -> str:
    return _encode(
        [
            "h",
            _fingerprint(_history_fields(history, path)),
            at.watermark,
            at.received_at,
            at.origin,
            at.seq,
            at.part,
        ]
    )


@dataclass(frozen=True)
class Change:
    """One stored version, as history expands it."""

    kind: str  # "member" or "event"
    deleted: bool
    body: dict[str, Any] | None
    version: Version


def expand(change: Change, types: Sequence[str]) -> list[tuple[int, str, dict[str, Any] | None]]:
    """The history entries one version yields: ``(part, resource type, resource or None)``,
    None meaning a deletion.

    A member yields its Organization and its Location; an event, its venue's Location. A
    version without a site deletes the Location, except a first version, which had none
    to delete. A tombstone deletes both: it has no body, so whether the record had a site
    is unknown, and a DELETE of an id a harvester never saw is harmless.
    """
    out: list[tuple[int, str, dict[str, Any] | None]] = []
    v = change.version
    if change.kind == "member" and "Organization" in types:
        org = None if change.body is None else resources.organization(change.body, v)
        out.append((ORGANIZATION, "Organization", org))
    if "Location" in types:
        loc = None if change.body is None else resources.location(change.kind, change.body, v)
        if loc is not None or change.deleted or v.version > 1:
            out.append((LOCATION, "Location", loc))
    return out


def history_entry(
    base: str, rtype: str, resource: dict[str, Any] | None, v: Version
) -> dict[str, Any]:
    """A create (POST, first version), update (PUT) or delete (DELETE) entry.

    A deletion has no resource. The signed tombstone's provenance rides on the entry
    itself, so a harvester can check a deletion as it checks an update.
    """
    url = f"{rtype}/{v.record_id}"
    entry: dict[str, Any] = {"fullUrl": f"{base}/{url}"}
    response: dict[str, Any] = {"etag": f'W/"{v.version}"', "lastModified": v.updated_at}
    if resource is None:
        entry["extension"] = [resources.provenance_extension(v.provenance)]
        entry["request"] = {"method": "DELETE", "url": url}
        response["status"] = "410 Gone"
    else:
        entry["resource"] = resource
        created = v.version == 1
        entry["request"] = {"method": "POST" if created else "PUT", "url": url}
        response["status"] = "201 Created" if created else "200 OK"
    entry["response"] = response
    return entry


def history(
    *,
    base: str,
    path: str,
    history: History,
    at: Position,
    entries: Sequence[dict[str, Any]],
    next_cursor: str | None,
) -> dict[str, Any]:
    query = [*history.applied, ("_count", str(history.count))]
    self_query = query + ([("cursor", history.cursor)] if history.cursor else [])
    links = [{"relation": "self", "url": _link(base, path, self_query)}]
    if next_cursor is not None:
        links.append(
            {"relation": "next", "url": _link(base, path, [*query, ("cursor", next_cursor)])}
        )
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        # The harvest watermark, not the newest entry's time: pass it as the next
        # ``_since`` and nothing committed after this harvest began can be missed.
        "meta": {"lastUpdated": at.watermark},
        "type": "history",
        "link": links,
    }
    if entries:
        bundle["entry"] = list(entries)
    return bundle
