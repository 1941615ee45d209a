"""FHIR date search values: the prefixes (``ge``, ``lt`` …) and the dates, at any
precision, they apply to, as tests on stored UTC instants. Pure.

A date value stands for a range at its precision (``2026-01`` is all of January); stored
instants are ``YYYY-MM-DDTHH:MM:SSZ`` texts with whole seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from node.fhir.errors import FhirUnsupportedParameter, bad
from schemas.instants import format_utc

# Matched with ``fullmatch`` and spelling digits ``[0-9]``, like the patterns of ``params``.
# The time zone's sign may be a space: an unescaped "+" in a query string decodes to one.
_DATE = re.compile(
    r"(?P<y>[0-9]{4})(?:-(?P<m>[0-9]{2})(?:-(?P<d>[0-9]{2})"
    r"(?:T(?P<H>[0-9]{2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2})(?:\.(?P<f>[0-9]{1,9}))?)?"
    r"(?P<tz>Z|[+ -][0-9]{2}:[0-9]{2})?)?)?)?"
)
_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")


@dataclass(frozen=True)
class DateTest:
    """``after <= column < before`` on a ``YYYY-MM-DDTHH:MM:SSZ`` text column (either end
    may be open); ``outside`` negates it (the ``ne`` prefix)."""

    after: str | None
    before: str | None
    outside: bool = False


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
        raise FhirUnsupportedParameter(
            f"{param}: the prefix 'ap' is not supported", expression=param
        )
    low, high = date_range(param, raw, ceil=True)
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


def date_range(param: str, value: str, *, ceil: bool = False) -> tuple[str, str | None]:
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
    low_text = _text_of(low, ceil=ceil)
    if low_text is None:
        raise bad(param, "out of range")
    try:
        end = _range_end(low, g)
    except (OverflowError, ValueError):  # the range ends after the year 9999
        return low_text, None
    return low_text, _text_of(end, ceil=True)


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


def _text_of(when: datetime, *, ceil: bool) -> str | None:
    """The stored-instant text of ``when``; None past the year 9999 (or, in UTC, before
    1), which no stored instant can be compared with."""
    try:
        if ceil and when.microsecond:
            when = when.replace(microsecond=0) + timedelta(seconds=1)
        text = format_utc(when)
        in_range = 1 <= when.astimezone(UTC).year <= 9999
    except (OverflowError, ValueError):
        return None
    return text if in_range else None
