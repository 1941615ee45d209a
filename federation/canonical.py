"""Canonical bytes: RFC 8785 (JSON Canonicalization Scheme).

One encoder, used for everything that is hashed or signed. It rejects what JCS cannot
represent exactly (NaN, infinities, integers beyond 2**53 - 1) instead of guessing.

Speed: the ``rfc8785`` package is pure Python (about 35 µs for a directory record). For
the values healthnet signs, the C ``json`` encoder with sorted keys and no spaces produces
the *same* bytes, provided that every key is ASCII (code-point order is then UTF-16
order) and every float is non-integral with 1e-4 <= |x| < 1e16 (where Python's shortest
repr and ECMAScript's Number-to-String agree digit for digit and both stay positional).
``canonical_bytes`` checks exactly that while it walks the value, and falls back to
``rfc8785`` for anything else, so the output is RFC 8785 either way (tests compare the two
on generated values and on the RFC's own vectors).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import rfc8785

from federation.errors import WireFormatError

_INT_LIKE_FLOATS = (2.0**53, 1e21)
_MAX_SAFE = 2**53 - 1
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
)


def _check(value: Any) -> bool:
    """Walk a value: raise on doubles in [2**53, 1e21) (JCS prints them as integer
    literals that no reader can take back within 2**53), and return whether the fast
    encoder gives RFC 8785 bytes for it."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-_MAX_SAFE <= value <= _MAX_SAFE)
    if kind is float:
        magnitude = abs(value)
        if _INT_LIKE_FLOATS[0] <= magnitude < _INT_LIKE_FLOATS[1]:
            raise WireFormatError(f"the number {value!r} cannot be represented exactly")
        return 1e-4 <= magnitude < 1e16 and not value.is_integer()
    if kind is dict:
        simple = True
        for key, item in value.items():
            if not (type(key) is str and key.isascii()):
                simple = False
            # Strings are most leaves: test them inline rather than with a call each.
            if type(item) is not str and not _check(item):
                simple = False
        return simple
    if kind is list or kind is tuple:
        simple = True
        for item in value:
            if type(item) is not str and not _check(item):
                simple = False
        return simple
    return False  # anything else: let rfc8785 decide (and refuse)


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 bytes of a JSON value (dicts, lists, str, int, float, bool, None)."""
    if _check(value):
        try:
            return _ENCODER.encode(value).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: rfc8785 below gives the verdict
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise WireFormatError(f"cannot canonicalise: {exc}") from exc


def canonical_bytes_reference(value: Any) -> bytes:
    """Always the ``rfc8785`` package: the yardstick the fast path is tested against."""
    _check(value)
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise WireFormatError(f"cannot canonicalise: {exc}") from exc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise WireFormatError(f"duplicate member name {dup!r}")
    return result


def loads(text: str | bytes) -> Any:
    """Parse JSON received from outside: duplicate member names are an error (I-JSON,
    RFC 7493), because two parsers could otherwise disagree on what was signed."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise WireFormatError(
            f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc


class Duplicated(dict[str, Any]):
    """A record object of a sync page in which some member name appears twice (here or in
    an object inside it), as :func:`loads_page` found it. It breaks I-JSON, so it is a bad
    record: quarantined alone (``federation.checks.prepare`` refuses it), while the rest
    of its page is judged as usual."""

    duplicate: str = ""


def _marker(found: list[str]) -> Any:
    def marking(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        # Every marked object was appended to ``found``: while it is empty, no value here
        # can be one, and the honest page's objects skip the scan (a third of the parse).
        if len(result) == len(pairs) and (
            not found or not any(type(v) is Duplicated for _, v in pairs)
        ):
            return result
        marked = Duplicated(result)
        seen: set[str] = set()
        dup = next((k for k, _ in pairs if k in seen or seen.add(k)), None)  # type: ignore[func-returns-value]
        nested = next((v.duplicate for _, v in pairs if type(v) is Duplicated), "")
        marked.duplicate = dup if dup is not None else nested
        found.append(marked.duplicate)
        return marked

    return marking


def loads_page(text: str | bytes) -> Any:
    """Parse a sync page (``{"records": [...], ...}``) so that one record breaking I-JSON
    does not sink the page: such a record comes back as a :class:`Duplicated`, and only a
    duplicate in the page object itself makes the page unreadable (docs/PROTOCOL.md 10.4).
    Without any duplicate this costs what :func:`loads` costs."""
    found: list[str] = []
    try:
        data = json.loads(text, object_pairs_hook=_marker(found))
    except json.JSONDecodeError as exc:
        raise WireFormatError(
            f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    if not found:
        return data
    if type(data) is Duplicated:
        raise WireFormatError(f"duplicate member name {data.duplicate!r}")
    records = data.get("records") if isinstance(data, dict) else None
    if isinstance(records, list):
        for index, record in enumerate(records):
            name = _nested(record) if isinstance(record, dict) else ""
            if name and type(record) is not Duplicated:
                marked = Duplicated(record)
                marked.duplicate = name
                records[index] = marked
    return data


def _nested(value: Any) -> str:
    """The duplicated name of a marked object anywhere inside ``value``, else ''."""
    if type(value) is Duplicated:
        return value.duplicate
    if isinstance(value, dict):
        return next((n for n in map(_nested, value.values()) if n), "")
    if isinstance(value, list):
        return next((n for n in map(_nested, value) if n), "")
    return ""


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 4648 section 5)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, *, field: str = "base64url") -> bytes:
    """Strict inverse of :func:`b64url`: no padding, no other alphabet, canonical last char."""
    if not isinstance(text, str) or any(c in text for c in "=+/ \n"):
        raise WireFormatError("not unpadded base64url", field=field)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise WireFormatError("not unpadded base64url", field=field) from exc
    if b64url(raw) != text:  # rejects non-zero trailing bits: one encoding per value
        raise WireFormatError("not canonical base64url", field=field)
    return raw


def sha256_tag(data: bytes) -> str:
    """``sha256:`` followed by the base64url digest, the form used for body hashes."""
    return "sha256:" + b64url(hashlib.sha256(data).digest())
