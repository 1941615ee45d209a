"""Reusable field types shared by the member and event model families."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints, ValidationInfo

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

# Whitespace, spelled out: the Unicode White_Space property, which is what pydantic's
# strip_whitespace trims and what ``\s`` means in Rust's regex (pydantic's pattern engine).
# ``\s`` itself is not portable: Python's re adds U+001C-U+001F, ECMA-262 (the published
# JSON Schemas) adds U+FEFF and drops U+0085. These escapes mean the same code points in
# Rust regex, Python re and ECMA-262, so a pattern built from them can be published as is.
WHITESPACE = r"\t\n\v\f\r\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"

# A contact e-mail: something@domain.tld without whitespace. (Before being spelled out this
# was ``[^@\s]`` under Rust regex: the same code points.)
EMAIL_PATTERN = rf"^[^@{WHITESPACE}]+@[^@{WHITESPACE}]+\.[^@{WHITESPACE}]+$"

# An absolute http(s) URL without whitespace. U+001C-U+001F (information separators) are
# refused too: the check always ran on Python's re, whose ``\s`` includes them. The scheme's
# case is spelled out, because re.IGNORECASE would also let "httpſ" (long s) through.
_URL_SPACE = WHITESPACE + r"\x1c-\x1f"
URL_PATTERN = rf"^[Hh][Tt][Tt][Pp][Ss]?://[^/$.?#{_URL_SPACE}][^{_URL_SPACE}]*$"
_URL = re.compile(URL_PATTERN)


def _check_url(value: str) -> str:
    if not _URL.fullmatch(value):
        raise ValueError("must be an absolute http(s) URL")
    return value


Url = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(_check_url)
]
Country = Annotated[str, AfterValidator(check_country)]
Language = Annotated[str, StringConstraints(max_length=35), AfterValidator(check_language)]


_BASE_URL = re.compile(r"^https?://[^\s/]+(:\d+)?(/[^\s]*)?$")
_KEY_TEXT = re.compile(r"^[A-Za-z0-9_-]{43}$")
KEY_SHAPE = "43 characters of base64url (A-Z, a-z, 0-9, - and _)"


def check_base_url(value: str) -> str:
    """A node's base URL, without a final slash; or a ValueError a person can act on
    (a settings file or a form shows it, where a regex would tell them nothing)."""
    if not _BASE_URL.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a base URL: give http:// or https://, a host and an"
            " optional port, such as https://healthnet.example.org"
        )
    return value.rstrip("/")


def check_key_text(value: str) -> str:
    """An Ed25519 public key's text (what ``PublicKeyText`` matches), with the same kind
    of error: what a key looks like and where a node shows its own."""
    if not _KEY_TEXT.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a public key: a key is {KEY_SHAPE}, as a node's /node"
            " and `healthnet info` show it (public_key)"
        )
    return value


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

# ISO 8601 calendar date, kept as text so the signed bytes are exactly what was sent. ASCII
# digits: ``\d`` is any Unicode digit in Rust regex (date.fromisoformat refuses those anyway).
IsoDate = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]


# Validation context key: the caller has already seen that the input holds no NUL (a
# received body's canonical bytes carry no ``\u0000``), so the walk below can be skipped.
NUL_CHECKED = "nul_checked"


def reject_nul_unless_checked(data: object, info: ValidationInfo) -> object:
    """:func:`reject_nul`, skipped when the validation context says ``NUL_CHECKED``: a
    page of 1,000 records would otherwise walk every body twice (once as bytes)."""
    if info.context and info.context.get(NUL_CHECKED):
        return data
    return reject_nul(data)


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
