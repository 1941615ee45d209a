"""FHIR query parameters, checked before any query runs. Pure.

A FHIR server must not silently ignore a parameter it does not understand: the client
would take an unfiltered answer for a filtered one. So an unknown or unsupported parameter
is a 400 OperationOutcome, unless the client sent ``Prefer: handling=lenient``, in which
case it is dropped and named in the answer. Malformed values of known parameters are
always a 400, lenient or not: leniency is about what the server supports, not about typos.
A parameter with an empty value (``name=``, ``_count=``, ``foo=``) is ignored, whatever its
name: it asks for nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from node.fhir.dates import DateTest, date_range, date_test
from node.fhir.errors import FhirUnsupportedFormat, FhirUnsupportedParameter, bad

FORMATS = {"json", "application/json", "application/fhir+json"}
# Parameters every interaction accepts (they change the rendering, never the result).
COMMON = {"_format", "_pretty"}
# Patterns are matched with ``fullmatch`` (``$`` would let a trailing newline through) and
# spell digits ``[0-9]`` (``\d`` also matches other scripts' digits, such as ``٣``).
ID_PATTERN = r"[A-Za-z0-9\-.]{1,64}"
_ID = re.compile(ID_PATTERN)
# A reference to an Organization: a bare id, ``Organization/<id>``, or an absolute URL
# ending in ``/Organization/<id>``.
_REFERENCE = re.compile(
    r"(?:(?:https?://[^/?#\s]+(?:/[^?#\s]*)?/)?Organization/)?(?P<id>" + ID_PATTERN + ")"
)
_TYPES = ("Organization", "Location")


@dataclass(frozen=True)
class Text:
    """One string parameter: its values are alternatives (a comma means OR)."""

    values: tuple[str, ...]
    mode: str  # "start" (the FHIR default, case- and accent-insensitive), "exact", "contains"


@dataclass(frozen=True)
class Search:
    resource: str
    ids: tuple[tuple[str, ...], ...] = ()
    names: tuple[Text, ...] = ()
    countries: tuple[Text, ...] = ()
    organizations: tuple[tuple[str, ...], ...] = ()
    updated: tuple[DateTest, ...] = ()  # all must hold
    count: int = 20
    total: bool = True
    cursor: str | None = None
    ignored: tuple[str, ...] = ()
    applied: tuple[tuple[str, str], ...] = ()  # for the self link

    def fingerprint_fields(self) -> list[object]:
        """What a cursor is bound to: every filter (paging size and cursor excluded)."""
        return [
            self.resource,
            self.ids,
            [(t.values, t.mode) for t in self.names],
            [(t.values, t.mode) for t in self.countries],
            self.organizations,
            [(d.after, d.before, d.outside) for d in self.updated],
        ]


@dataclass(frozen=True)
class History:
    """A history request. Unsupported parameters dropped under lenient handling are not
    listed: a history Bundle has no place for an outcome entry (every entry needs a
    ``request`` and ``response``), so only the self link, which lists what was applied,
    tells them apart."""

    types: tuple[str, ...]
    since: str | None = None
    count: int = 100
    cursor: str | None = None
    applied: tuple[tuple[str, str], ...] = ()


def lenient(prefer: str) -> bool:
    """Whether a ``Prefer`` header asks for ``handling=lenient`` (RFC 7240): unsupported
    parameters are then ignored instead of refused."""
    return any(p.strip().lower() == "handling=lenient" for p in re.split(r"[,;]", prefer))


def _given(items: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The parameters that carry a value: an empty one is ignored (FHIR search rules)."""
    return [(key, value) for key, value in items if value.strip() != ""]


def check_format(items: Sequence[tuple[str, str]]) -> bool:
    """Whether ``_pretty=true`` was asked; refuses formats other than JSON with 406.

    In a query string ``+`` decodes to a space, so an unescaped
    ``_format=application/fhir+json`` arrives as ``application/fhir json``.
    """
    pretty = False
    for key, value in _given(items):
        if key == "_format":
            fmt = value.strip().replace(" ", "+").split(";")[0].strip().lower()
            if fmt not in FORMATS:
                raise FhirUnsupportedFormat(f"_format {value!r}: this server speaks JSON only")
        elif key == "_pretty":
            if value not in ("true", "false"):
                raise bad("_pretty", "true or false")
            pretty = value == "true"
    return pretty


def plain(items: Sequence[tuple[str, str]], *, lenient: bool) -> None:
    """Read and metadata take no parameters beyond ``_format`` and ``_pretty``. A resource
    has no place to name what lenient handling dropped; ``Preference-Applied`` says it
    was applied."""
    for key, _ in _given(items):
        if key not in COMMON:
            _unknown(key, lenient)


def search(
    resource: str,
    items: Sequence[tuple[str, str]],
    *,
    lenient: bool,
    max_count: int,
    default_count: int = 20,
) -> Search:
    ids: list[tuple[str, ...]] = []
    names: list[Text] = []
    countries: list[Text] = []
    orgs: list[tuple[str, ...]] = []
    updated: list[DateTest] = []
    count, total, cursor = default_count, True, None
    ignored: list[str] = []
    applied: list[tuple[str, str]] = []
    for key, value in _given(items):
        name, _, modifier = key.partition(":")
        if key in COMMON:
            continue
        known = True
        if name == "_id" and not modifier:
            ids.append(_ids(key, value))
        elif name == "name" and modifier in ("", "exact", "contains"):
            names.append(_text(key, value, modifier or "start"))
        elif name == "address-country" and modifier in ("", "exact", "contains"):
            countries.append(_text(key, value, modifier or "start"))
        elif name == "_lastUpdated" and not modifier:
            updated.append(date_test(key, value))
        elif name == "organization" and resource == "Location" and modifier in ("", "Organization"):
            orgs.append(_references(key, value))
        elif key == "_count":
            count = _count(value, max_count)
        elif key == "_total":
            if value not in ("none", "estimate", "accurate"):
                raise bad("_total", "none, estimate or accurate")
            total = value != "none"
        elif key == "cursor":
            cursor = value
        else:
            known = False
            _unknown(key, lenient)
            ignored.append(key)
        if known and key not in ("_count", "cursor"):
            applied.append((key, value))
    return Search(
        resource=resource,
        ids=tuple(ids),
        names=tuple(names),
        countries=tuple(countries),
        organizations=tuple(orgs),
        updated=tuple(updated),
        count=count,
        total=total,
        cursor=cursor,
        ignored=tuple(ignored),
        applied=tuple(applied),
    )


def history(
    resource: str | None,
    items: Sequence[tuple[str, str]],
    *,
    lenient: bool,
    max_count: int,
    default_count: int = 100,
) -> History:
    """``_since`` (an instant, compared with the time this node received a record),
    ``_count``, the opaque ``cursor`` and, for the system-wide history, ``_type``."""
    types: tuple[str, ...] = (resource,) if resource else _TYPES
    since = None
    count, cursor = default_count, None
    applied: list[tuple[str, str]] = []
    for key, value in _given(items):
        if key in COMMON:
            continue
        if key == "_since":
            low, _ = date_range(key, value)
            since = low
            applied.append((key, value))
        elif key == "_count":
            count = _count(value, max_count)
        elif key == "cursor":
            cursor = value
        elif key == "_type" and resource is None:
            wanted = tuple(v.strip() for v in value.split(","))
            unknown = [t for t in wanted if t not in _TYPES]
            if unknown:
                raise FhirUnsupportedParameter(
                    f"_type: {', '.join(unknown)} not served (only Organization, Location)",
                    expression="_type",
                )
            types = tuple(t for t in _TYPES if t in wanted)
            applied.append((key, value))
        else:
            _unknown(key, lenient)
    return History(types, since, count, cursor, tuple(applied))


def _ids(param: str, value: str) -> tuple[str, ...]:
    ids = tuple(v.strip() for v in value.split(","))
    for rid in ids:
        if not _ID.fullmatch(rid):
            raise bad(param, f"{rid!r} is not a FHIR id")
    return ids


def _text(param: str, value: str, mode: str) -> Text:
    values = tuple(v for v in (part.strip() for part in _split(value)) if v)
    if not values:
        raise bad(param, "empty value")
    if any(len(v) > 200 for v in values):
        raise bad(param, "at most 200 characters")
    return Text(values, mode)


def _split(value: str) -> list[str]:
    r"""Split on commas, honouring FHIR's ``\,`` escape for a literal comma."""
    return [part.replace("\\,", ",") for part in re.split(r"(?<!\\),", value)]


def _references(param: str, value: str) -> tuple[str, ...]:
    """``Organization/<id>``, a bare id, or an absolute URL ending in ``/Organization/<id>``;
    anything else (``/x``, ``Patient/x``, ``Organization/x/_history/1``) is refused."""
    out = []
    for ref in (v.strip() for v in value.split(",")):
        match = _REFERENCE.fullmatch(ref)
        if match is None:
            raise bad(param, f"{ref!r} is not a reference to an Organization")
        out.append(match["id"])
    return tuple(out)


def _count(value: str, maximum: int) -> int:
    """Page size. Above the node's maximum it is lowered, as FHIR allows (a server may
    return fewer than asked, never more); the self link shows the size applied. Any
    number of digits is accepted (a huge one is lowered without converting it)."""
    digits = value.strip()
    if not re.fullmatch(r"[0-9]+", digits):
        raise bad("_count", "a whole number, 0 or more")
    digits = digits.lstrip("0") or "0"
    if len(digits) > len(str(maximum)):
        return maximum
    return min(int(digits), maximum)


def _unknown(key: str, lenient: bool) -> None:
    """Refuses an unsupported parameter, unless the client asked for lenient handling."""
    if lenient:
        return
    raise FhirUnsupportedParameter(
        f"parameter {key!r} is not supported here (send 'Prefer: handling=lenient' "
        "to have unsupported parameters ignored)",
        expression=key,
    )
