"""RFC 8785 canonical bytes, strict base64url and body-hash tags.

The reference suite of RFC 8785 (cyberphone/json-canonicalization, testdata/) is vendored in
tests/vectors/rfc8785/; every byte that healthnet signs goes through ``canonical_bytes``, so
it must reproduce that suite exactly. A missing suite fails the tests; it is never skipped.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.paths import RFC8785_DIR

from federation.canonical import b64url, b64url_decode, canonical_bytes, sha256_tag
from federation.errors import WireFormatError

MAX_SAFE = 2**53 - 1


def _reference_names() -> list[str]:
    return sorted(path.stem for path in (RFC8785_DIR / "input").glob("*.json"))


def _require_reference_suite() -> None:
    assert RFC8785_DIR.is_dir(), f"RFC 8785 reference suite not found at {RFC8785_DIR}"


# --- RFC 8785 reference suite ----------------------------------------------------------


def test_reference_suite_is_present_and_complete() -> None:
    _require_reference_suite()
    names = _reference_names()
    # The published suite: arrays, french, structures, unicode, values, weird.
    assert len(names) >= 6
    for name in names:
        assert (RFC8785_DIR / "output" / f"{name}.json").is_file(), name
        assert (RFC8785_DIR / "outhex" / f"{name}.txt").is_file(), name


@pytest.mark.parametrize("name", _reference_names() or ["<missing>"])
def test_reference_suite(name: str) -> None:
    _require_reference_suite()
    source = (RFC8785_DIR / "input" / f"{name}.json").read_bytes()
    expected = (RFC8785_DIR / "output" / f"{name}.json").read_bytes()
    outhex = (RFC8785_DIR / "outhex" / f"{name}.txt").read_text("ascii")
    actual = canonical_bytes(json.loads(source))
    assert actual == expected
    assert actual == bytes.fromhex(outhex)


# --- What JCS cannot represent --------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        math.nan,
        math.inf,
        -math.inf,
        {"latitude": math.nan},
        [1, 2, math.inf],
    ],
    ids=["nan", "inf", "-inf", "nested-nan", "nested-inf"],
)
def test_non_finite_floats_are_rejected(value: Any) -> None:
    with pytest.raises(WireFormatError):
        canonical_bytes(value)


@pytest.mark.parametrize("value", [MAX_SAFE + 1, -(MAX_SAFE + 1), 2**64, {"seq": 2**53}])
def test_integers_beyond_the_safe_range_are_rejected(value: Any) -> None:
    with pytest.raises(WireFormatError):
        canonical_bytes(value)


@pytest.mark.parametrize("value", [MAX_SAFE, -MAX_SAFE, 0])
def test_integers_at_the_safe_limit_are_exact(value: int) -> None:
    assert canonical_bytes(value) == str(value).encode()


@pytest.mark.parametrize("value", [{1: "x"}, b"bytes", {"set": {1, 2}}, object()])
def test_non_json_values_are_rejected(value: Any) -> None:
    with pytest.raises(WireFormatError):
        canonical_bytes(value)


def test_canonical_form_details() -> None:
    """The cases where json.dumps(sort_keys=True) and RFC 8785 disagree."""
    value = {"b": [1.0, 0.1, 1e21, -0.0], "a": "Nijmegen – Gelderland", "\u00e9": None, "z": True}
    assert canonical_bytes(value) == (
        '{"a":"Nijmegen – Gelderland","b":[1,0.1,1e+21,0],"z":true,"\u00e9":null}'.encode()
    )
    # Keys sort by UTF-16 code units: U+1F600 (surrogates D83D...) sorts before U+FFFD.
    assert canonical_bytes({"\ufffd": 1, "\U0001f600": 2}) == (
        '{"\U0001f600":2,"\ufffd":1}'.encode()
    )


# --- base64url --------------------------------------------------------------------------


@given(st.binary(max_size=200))
def test_b64url_round_trip(data: bytes) -> None:
    text = b64url(data)
    assert re.fullmatch(r"[A-Za-z0-9_-]*", text)
    assert len(text) == math.ceil(len(data) * 4 / 3)
    assert b64url_decode(text) == data


def test_b64url_known_answers() -> None:
    assert b64url(b"") == ""
    assert b64url(b"\xfb\xff") == "-_8"
    assert b64url_decode("-_8") == b"\xfb\xff"
    assert b64url(bytes(64)) == "A" * 86


@pytest.mark.parametrize(
    "text",
    [
        "AA==",  # padding
        "AAA=",
        "-_8=",
        "+_8",  # standard alphabet
        "-/8",
        "AA AA",  # whitespace anywhere
        " AAAA",
        "AAAA\n",
        "AA\tAA",
        "AA\rAA",
        "AB",  # non-zero trailing bits: "AA" is the one encoding of b"\x00"
        "AAB",
        "-_9",
        "AAAAA",  # a length of 1 mod 4 encodes no whole byte
        "é",
        "AA.A",
    ],
)
def test_b64url_decode_rejects(text: str) -> None:
    with pytest.raises(WireFormatError) as info:
        b64url_decode(text, field="record.sig")
    assert info.value.field == "record.sig"


def test_b64url_decode_rejects_non_strings() -> None:
    with pytest.raises(WireFormatError):
        b64url_decode(b"AAAA")  # type: ignore[arg-type]


def test_b64url_decode_default_field_name() -> None:
    with pytest.raises(WireFormatError) as info:
        b64url_decode("AA==")
    assert info.value.field == "base64url"


# --- sha256 tags ----------------------------------------------------------------------


def test_sha256_tag_known_answer() -> None:
    # SHA-256 of the empty string, e3b0c442..., in unpadded base64url.
    assert sha256_tag(b"") == "sha256:47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"


@given(st.binary(max_size=500))
def test_sha256_tag_format(data: bytes) -> None:
    tag = sha256_tag(data)
    assert re.fullmatch(r"sha256:[A-Za-z0-9_-]{43}", tag)
    digest = base64.urlsafe_b64decode(tag.removeprefix("sha256:") + "=")
    assert digest == hashlib.sha256(data).digest()


# --- Property: canonical bytes are a fixed point ---------------------------------------

# Doubles in [2**53, 1e21) are integers that JCS prints without an exponent; Python's json
# then parses them back as ints beyond the safe range. See test_large_integral_float_*.
finite_floats = st.floats(allow_nan=False, allow_infinity=False).filter(
    lambda f: not (2**53 <= abs(f) < 1e21)
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE, max_value=MAX_SAFE)
    | finite_floats
    | st.text(),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=25,
)


@given(json_values)
def test_canonical_bytes_are_a_fixed_point(value: Any) -> None:
    once = canonical_bytes(value)
    assert canonical_bytes(json.loads(once)) == once


@given(st.dictionaries(st.text(max_size=8), st.integers(-MAX_SAFE, MAX_SAFE), max_size=8))
def test_key_order_does_not_change_the_bytes(value: dict[str, int]) -> None:
    reordered = dict(reversed(list(value.items())))
    assert canonical_bytes(reordered) == canonical_bytes(value)


def test_large_integral_float_round_trips() -> None:
    try:
        once = canonical_bytes({"n": 1e20})
    except WireFormatError:
        return  # refusing such a double up front would be a fix as well
    assert once == b'{"n":100000000000000000000}'
    assert canonical_bytes(json.loads(once)) == once
