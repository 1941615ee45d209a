"""The shortcuts in checking a received record (``federation.checks.prepare``) refuse and
accept exactly what the full checks do: the NUL walk skipped when the canonical bytes show
no NUL, the instant checked without ``strptime``, and the cached roster keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from support import signing_fixtures
from support.rosters import rkey, rnode
from support.signing_fixtures import BODY, _seal

from federation.checks import prepare, verify
from federation.errors import WireFormatError
from federation.keys import SigningKey, node_id_for, public_key
from federation.trust import Trust
from schemas.fields import NUL_CHECKED
from schemas.geo import Region
from schemas.member import MemberBody
from schemas.record import _real_instant

key = signing_fixtures.key


def _trust(key: SigningKey) -> Trust:
    origin = node_id_for(key.public_raw)
    return Trust("hn-" + "a" * 24, {origin: rnode(origin, Region.EUROPE, [rkey(key)])}, 2)


def _prepared(key: SigningKey, body: dict[str, Any]) -> None:
    envelope = _seal(key, body)
    verify(prepare(envelope, _trust(key), origin=envelope["record"]["origin"]))


def test_a_signed_body_passes(key: SigningKey) -> None:
    _prepared(key, BODY)


@pytest.mark.parametrize(
    "body",
    [
        {**BODY, "name": "Radboud\x00umc"},
        {**BODY, "social": [{"platform": "x", "handle": "@rad\x00boud"}]},
        {**BODY, "topics": ["digital\x00health"]},
        {**BODY, "contact": {"na\x00me": "x"}},
    ],
    ids=["name", "nested", "list", "key"],
)
def test_a_nul_anywhere_is_refused_although_signed(key: SigningKey, body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="NUL"):
        _prepared(key, body)


def test_text_that_spells_the_nul_escape_is_no_nul(key: SigningKey) -> None:
    # A backslash and "u0000" is written \\u0000 in the canonical bytes: the bytes contain
    # the escape's text, so the full walk runs, and finds no NUL.
    _prepared(key, {**BODY, "description": "JSON writes NUL as \\u0000"})


def test_the_schema_walks_for_nuls_unless_told_it_need_not() -> None:
    with pytest.raises(ValidationError, match="NUL"):
        MemberBody.model_validate({**BODY, "name": "a\x00b"})
    with pytest.raises(ValidationError, match="NUL"):
        MemberBody.model_validate({**BODY, "name": "a\x00b"}, context={NUL_CHECKED: False})


def _by_strptime(text: str) -> bool:
    try:
        datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return False
    return True


def _by_shortcut(text: str) -> bool:
    try:
        _real_instant(text)
    except ValueError:
        return False
    return True


def _two(high: int) -> st.SearchStrategy[str]:
    return st.integers(0, high).map(lambda n: f"{n:02d}")


instants = st.builds(
    lambda y, mo, d, h, mi, s: f"{y:04d}-{mo}-{d}T{h}:{mi}:{s}Z",
    st.integers(0, 9999),
    _two(14),
    _two(33),
    _two(26),
    _two(62),
    _two(63),
)


@settings(max_examples=500)
@given(instants)
def test_the_instant_check_agrees_with_strptime(text: str) -> None:
    assert _by_shortcut(text) == _by_strptime(text)


@pytest.mark.parametrize(
    ("text", "real"),
    [
        ("2024-02-29T23:59:59Z", True),
        ("2023-02-29T00:00:00Z", False),
        ("2016-12-31T23:59:60Z", False),  # a leap second: a datetime has none
        ("2016-12-31T23:59:61Z", False),
        ("2025-13-01T00:00:00Z", False),
        ("0000-01-01T00:00:00Z", False),
        ("2025-01-01T24:00:00Z", False),
        ("2025-01-01T00:60:00Z", False),
    ],
)
def test_edge_instants(text: str, real: bool) -> None:
    assert _by_shortcut(text) is real is _by_strptime(text)


def test_a_roster_key_is_parsed_once_and_a_bad_one_always_refused(key: SigningKey) -> None:
    assert public_key(key.public_b64) is public_key(key.public_b64)
    for _ in range(2):
        with pytest.raises(WireFormatError):
            public_key("A" * 42)
