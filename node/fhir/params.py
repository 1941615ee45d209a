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
from datetime import UTC, datetime, timedelta, timezone

from federation.errors import HealthnetError
from node.db.projection import utc_text

FORMATS = {"json", "application/json", "application/fhir+json"}
# Parameters every interaction accepts (they change the rendering, never the result).
COMMON = {"_format", "_pretty"}
# Patterns are matched with ``fullmatch`` (``$`` would let a trailing newline through) and
# spell digits ``[0-9]`` (``\d`` also matches other scripts' digits, such as ``٣``).
ID_PATTERN = r"[A-Za-z0-9\-.]{1,64}"
_ID = re.compile(ID_PATTERN)
# The time zone's sign may be a space: an unescaped "+" in a query string decodes to one.
_DATE = re.compile(
    r"(?P<y>[0-9]{4})(?:-(?P<m>[0-9]{2})(?:-(?P<d>[0-9]{2})"
    r"(?:T(?P<H>[0-9]{2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2})(?:\.(?P<f>[0-9]{1,9}))?)?"
    r"(?P<tz>Z|[+ -][0-9]{2}:[0-9]{2})?)?)?)?"
)
# A reference to an Organization: a bare id, ``Organization/<id>``, or an absolute URL
# ending in ``/Organization/<id>``.
_REFERENCE = re.compile(
    r"(?:(?:https?://[^/?#\s]+(?:/[^?#\s]*)?/)?Organization/)?(?P<id>" + ID_PATTERN + ")"
)
_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
_TYPES = ("Organization", "Location")


class FhirError(HealthnetError):
    """An answer the FHIR layer gives as an OperationOutcome: the HTTP status, the FHIR
    issue type (``invalid``, ``not-supported``, ``not-found``, ``deleted`` …), a message,
    and the parameter at fault. The FHIR router catches it; it never reaches the global
    problem handler."""

    def __init__(
        self, status: int, code: str, diagnostics: str, *, expression: str | None = None
    ) -> None:
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.expression = expression
        super().__init__(diagnostics)


def bad(param: str, reason: str) -> FhirError:
    return FhirError(400, "invalid", f"{param}: {reason}", expression=param)


@dataclass(frozen=True)
class Text:
    """One string parameter: its values are alternatives (a comma means OR)."""

    values: tuple[str, ...]
    mode: str  # "start" (the FHIR default, case- and accent-insensitive), "exact", "contains"


@dataclass(frozen=True)
class DateTest:
    """``after <= column < before`` on a ``YYYY-MM-DDTHH:MM:SSZ`` text column (either end
    may be open); ``outside`` negates it (the ``ne`` prefix)."""

    after: str | None
    before: str | None
    outside: bool = False


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
                raise FhirError(
                    406, "not-supported", f"_format {value!r}: this server speaks JSON only"
                )
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
            low, _ = _range(key, value)
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
                raise FhirError(
                    400,
                    "not-supported",
                    f"_type: {', '.join(unknown)} not served (only Organization, Location)",
                    expression="_type",
                )
            types = tuple(t for t in _TYPES if t in wanted)
            applied.append((key, value))
        else:
            _unknown(key, lenient)
    return History(types, since, count, cursor, tuple(applied))


def date_test(param: str, value: str) -> DateTest:
    """A FHIR date search value (``ge2026-01-01``) as a test on a stored UTC instant.

    The value stands for a range at its precision: ``2026-01`` is all of January. Stored
    instants are points, so ``ge`` means "at or after the range's start", ``gt``/``sa``
    "at or after its end", ``le`` "before its end", ``lt``/``eb`` "before its start".
    """
    if "," in value:
        raise bad(param, "one value per parameter; repeat the parameter for a range")
    prefix = value[:2] if value[:2] in _PREFIXES else "eq"
    raw = value[2:] if value[:2] in _PREFIXES else value
    if prefix == "ap":
        raise FhirError(
            400, "not-supported", f"{param}: the prefix 'ap' is not supported", expression=param
        )
    low, high = _range(param, raw, ceil=True)
    if prefix in ("eq", "ne"):
        return DateTest(low, high, outside=prefix == "ne")
    if prefix in ("gt", "sa"):
        if high is None:  # after the year 9999: nothing
            return DateTest(None, None, outside=True)
        return DateTest(high, None)
    if prefix == "ge":
        return DateTest(low, None)
    if prefix == "le":
        return DateTest(None, high)
    return DateTest(None, low)  # lt, eb


def _range(param: str, value: str, *, ceil: bool = False) -> tuple[str, str | None]:
    """The ``[low, high)`` range a date value stands for, as stored-instant texts (``high``
    None: beyond the year 9999, an open end).

    Stored instants have whole seconds; bounds with a fraction are rounded up when
    ``ceil`` (search: exact comparison), down otherwise (``_since``: inclusive, so a
    harvester sees the whole second again rather than miss part of it). A value without a
    time zone is UTC.
    """
    match = _DATE.fullmatch(value.strip())
    if match is None:
        raise bad(param, "expected a FHIR date such as 2026-01-01 or 2026-01-01T10:00:00Z")
    g = match.groupdict()
    try:
        year = int(g["y"])
        month = int(g["m"] or 1)
        day = int(g["d"] or 1)
        hour, minute = int(g["H"] or 0), int(g["M"] or 0)
        second = int(g["S"] or 0)
        micro = int((g["f"] or "0")[:6].ljust(6, "0"))
        tz = UTC
        if g["tz"] and g["tz"] != "Z":
            sign = -1 if g["tz"][0] == "-" else 1  # "+", or the space it decodes to
            hh, mm = int(g["tz"][1:3]), int(g["tz"][4:6])
            tz = timezone(sign * timedelta(hours=hh, minutes=mm))
        low = datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError as exc:
        raise bad(param, f"not a valid date: {exc}") from exc
    try:
        low_text = _text_of(low, ceil=ceil)
    except (OverflowError, ValueError) as exc:
        raise bad(param, "out of range") from exc
    try:
        return low_text, _text_of(_range_end(low, g), ceil=True)
    except (OverflowError, ValueError):
        return low_text, None


def _range_end(low: datetime, g: dict[str, str | None]) -> datetime:
    if g["f"] is not None:
        return low + timedelta(microseconds=1)
    if g["S"] is not None:
        return low + timedelta(seconds=1)
    if g["H"] is not None:
        return low + timedelta(minutes=1)
    if g["d"] is not None:
        return low + timedelta(days=1)
    return _add_months(low, 1 if g["m"] is not None else 12)


def _add_months(when: datetime, months: int) -> datetime:
    total = when.month - 1 + months
    return when.replace(year=when.year + total // 12, month=total % 12 + 1)


def _text_of(when: datetime, *, ceil: bool) -> str:
    """Raises OverflowError or ValueError past the year 9999 (or, in UTC, before 1)."""
    if ceil and when.microsecond:
        when = when.replace(microsecond=0) + timedelta(seconds=1)
    text = utc_text(when)
    if not 1 <= when.astimezone(UTC).year <= 9999:
        raise ValueError("year out of range")
    return text


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
    raise FhirError(
        400,
        "not-supported",
        f"parameter {key!r} is not supported here (send 'Prefer: handling=lenient' "
        "to have unsupported parameters ignored)",
        expression=key,
    )
