"""The fast canonical encoder must give exactly the rfc8785 package's bytes, always."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.paths import RFC8785_DIR

from federation.canonical import canonical_bytes, canonical_bytes_reference
from federation.errors import WireFormatError

SAFE = 2**53 - 1
keys = st.text(max_size=8)  # any Unicode, including non-BMP: exercises the fallback
floats = st.floats(allow_nan=False, allow_infinity=False).filter(
    lambda f: not (2.0**53 <= abs(f) < 1e21)
)
scalars = st.none() | st.booleans() | st.integers(-SAFE, SAFE) | floats | st.text(max_size=20)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=500, deadline=None)
@given(values)
def test_fast_path_equals_rfc8785(value: Any) -> None:
    try:
        expected = canonical_bytes_reference(value)
    except WireFormatError:
        with pytest.raises(WireFormatError):
            canonical_bytes(value)
        return
    assert canonical_bytes(value) == expected


@pytest.mark.parametrize(
    "number",
    [0.0, -0.0, 1.0, 52.0, 1e-4, 9.99e-5, 1e-7, 0.1, 0.3, 51.8426, -92.4802, 179.999999,
     1e15 + 0.5, 4503599627370495.5, 9007199254740991.0, 123456789.123, 5e-324, 1e21, 1.5e300],
)
def test_number_edges(number: float) -> None:
    assert canonical_bytes({"n": number}) == canonical_bytes_reference({"n": number})


@pytest.mark.parametrize(
    "text", ["é", "\u2028", "\x7f", "\x00\x1f", '"\\', "😀", "\ue000", "a\u0301"]
)
def test_string_edges(text: str) -> None:
    value = {text: text, "k": [text]}
    assert canonical_bytes(value) == canonical_bytes_reference(value)


def test_lone_surrogate_is_refused_or_matches() -> None:
    value = {"k": "\ud800"}
    try:
        expected = canonical_bytes_reference(value)
    except WireFormatError:
        with pytest.raises(WireFormatError):
            canonical_bytes(value)
    else:
        assert canonical_bytes(value) == expected


def test_rfc8785_suite_through_the_fast_path() -> None:
    inputs = sorted((RFC8785_DIR / "input").glob("*.json"))
    assert inputs, f"RFC 8785 reference suite not found at {RFC8785_DIR}"
    for path in inputs:
        value = json.loads(path.read_text(encoding="utf-8"))
        expected = (RFC8785_DIR / "output" / path.name).read_bytes()
        assert canonical_bytes(value) == expected, path.name


def test_unsafe_integers_still_refused() -> None:
    with pytest.raises(WireFormatError):
        canonical_bytes({"n": 2**53})
    with pytest.raises(WireFormatError):
        canonical_bytes({"n": math.inf})
