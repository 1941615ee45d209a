"""Canonical bytes: RFC 8785 (JSON Canonicalization Scheme).

One encoder, used for everything that is hashed or signed. It rejects what JCS cannot
represent exactly (NaN, infinities, integers beyond 2**53 - 1) instead of guessing.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import rfc8785

from federation.errors import WireFormatError

_INT_LIKE_FLOATS = (2.0**53, 1e21)


def _check_numbers(value: Any) -> None:
    """Refuse doubles in [2**53, 1e21): JCS prints them as integer literals, which a reader
    then parses as integers beyond 2**53 - 1, so the bytes could never be verified again."""
    kind = type(value)
    if kind is float:
        if _INT_LIKE_FLOATS[0] <= abs(value) < _INT_LIKE_FLOATS[1]:
            raise WireFormatError(f"the number {value!r} cannot be represented exactly")
    elif kind is dict:
        for item in value.values():
            _check_numbers(item)
    elif kind is list or kind is tuple:
        for item in value:
            _check_numbers(item)


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 bytes of a JSON value (dicts, lists, str, int, float, bool, None)."""
    _check_numbers(value)
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
