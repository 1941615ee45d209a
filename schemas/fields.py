"""Reusable field types shared by the member and event model families."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from schemas.geo import check_country, check_language

# Coordinates are rounded to 6 decimals (about 0.1 m) so that the signed JSON never
# carries float noise such as 52.84300000000001 that another encoder might print differently.
# Strict: "44.5" or true is a client mistake, not a coordinate (importers convert text first).
Latitude = Annotated[
    float, Field(ge=-90, le=90, strict=True), AfterValidator(lambda v: round(v, 6))
]
Longitude = Annotated[
    float, Field(ge=-180, le=180, strict=True), AfterValidator(lambda v: round(v, 6))
]

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]

_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def _check_url(value: str) -> str:
    if not _URL.match(value):
        raise ValueError("must be an absolute http(s) URL")
    return value


Url = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(_check_url)
]
Country = Annotated[str, AfterValidator(check_country)]
Language = Annotated[str, StringConstraints(max_length=35), AfterValidator(check_language)]


def _check_topic(value: str) -> str:
    topic = value.strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9 &+/-]{0,59}", topic):
        raise ValueError("a topic is 1-60 lower-case letters, digits, spaces or - & + /")
    return topic


Topic = Annotated[str, AfterValidator(_check_topic)]


def _unique(values: list[str]) -> list[str]:
    seen: list[str] = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return seen


Topics = Annotated[list[Topic], Field(max_length=20), AfterValidator(_unique)]
Languages = Annotated[list[Language], Field(max_length=20), AfterValidator(_unique)]

# ISO 8601 calendar date, kept as text so the signed bytes are exactly what was sent.
IsoDate = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]


def reject_nul(data: object, path: str = "") -> object:
    """Refuse NUL characters anywhere in an input document: PostgreSQL text cannot store
    them, and a record one backend accepts must not be one the other refuses."""
    if isinstance(data, str):
        if "\x00" in data:
            raise ValueError(f"{path or 'value'}: NUL characters are not allowed")
    elif isinstance(data, dict):
        for key, value in data.items():
            reject_nul(key, path)
            reject_nul(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            reject_nul(value, f"{path}.{index}" if path else str(index))
    return data
