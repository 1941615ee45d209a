"""federation.digest: order-free set digests of what a node holds per origin. Pure."""

from __future__ import annotations

import hashlib
import json
from functools import reduce

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.envelopes import sealed

from federation.digest import EMPTY, MODULUS, add, combine, element
from federation.keys import from_seed, node_id_for
from federation.signing import header_hash

RID = "3f2b8c1e-7d4a-4e6b-9c15-2a8e6f0d4b71"
HH = "sha256:Sqb3dfSiml0LWRgETFeHevfOW84y4hGQKasH3cgUvFs"


def fold(elements: list[int], start: str = EMPTY) -> str:
    return reduce(add, elements, start)


def merge_digests(a: str, b: str) -> str:
    return add(a, int(b, 16))


def is_digest(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


ELEMENT_ARGS = st.tuples(
    st.text(min_size=1, max_size=40),
    st.integers(1, 2**53 - 1),
    st.text(min_size=1, max_size=60),
)
ELEMENTS = st.lists(ELEMENT_ARGS, max_size=25, unique=True).map(
    lambda args: [element(*a) for a in args]
)


# --------------------------------------------------------------------------- element


def test_element_is_sha256_of_the_canonical_triple() -> None:
    """An independent computation: for ASCII strings RFC 8785 is compact JSON."""
    data = json.dumps([RID, 2, HH], separators=(",", ":")).encode()
    assert data == b'["' + RID.encode() + b'",2,"' + HH.encode() + b'"]'
    expected = int.from_bytes(hashlib.sha256(data).digest(), "big")
    assert element(RID, 2, HH) == expected


def test_element_of_non_ascii_uses_raw_utf8() -> None:
    data = '["é–ü",1,"h"]'.encode()
    assert element("é–ü", 1, "h") == int.from_bytes(hashlib.sha256(data).digest(), "big")


@given(ELEMENT_ARGS)
def test_element_is_deterministic_and_in_range(args: tuple[str, int, str]) -> None:
    a = element(*args)
    assert a == element(*args)
    assert 0 <= a < MODULUS


@pytest.mark.parametrize(
    "other",
    [
        (RID.replace("3f", "4f"), 2, HH),
        (RID, 3, HH),
        (RID, 1, HH),
        (RID, 2, HH[:-1] + "t"),
        (HH, 2, RID),  # fields swapped
    ],
)
def test_element_depends_on_every_field(other: tuple[str, int, str]) -> None:
    assert element(*other) != element(RID, 2, HH)


def test_element_fields_cannot_bleed_into_each_other() -> None:
    """The triple is a JSON array, not a concatenation: ("ab", 1, "c") is not ("a", ...)."""
    assert element("ab", 1, "c") != element("a", 1, "bc")
    assert element("x1", 2, "h") != element("x", 12, "h")
    assert element("x", 1, "2h") != element("x", 12, "h")


@given(ELEMENT_ARGS, ELEMENT_ARGS)
def test_distinct_triples_have_distinct_elements(
    a: tuple[str, int, str], b: tuple[str, int, str]
) -> None:
    assert (element(*a) == element(*b)) == (a == b)


# --------------------------------------------------------------------------- add / combine


def test_empty_digest() -> None:
    assert EMPTY == "0" * 64
    assert combine([]) == EMPTY
    assert fold([]) == EMPTY
    assert MODULUS == 2**256


def test_add_examples_and_wrap_around() -> None:
    assert add(EMPTY, 1) == "0" * 63 + "1"
    assert add(EMPTY, 255) == "0" * 62 + "ff"
    assert add("f" * 64, 1) == EMPTY
    assert add("f" * 64, 2) == "0" * 63 + "1"
    assert add(EMPTY, MODULUS - 1) == "f" * 64
    assert add(EMPTY, MODULUS) == EMPTY
    assert combine([MODULUS - 1, 1]) == EMPTY
    assert combine([MODULUS - 1, MODULUS - 1]) == "f" * 63 + "e"


@given(ELEMENTS)
def test_digests_are_64_lowercase_hex(elements: list[int]) -> None:
    assert is_digest(combine(elements))
    assert is_digest(fold(elements))


@given(ELEMENTS.flatmap(lambda xs: st.tuples(st.just(xs), st.permutations(xs))))
def test_order_of_additions_is_irrelevant(case: tuple[list[int], list[int]]) -> None:
    elements, shuffled = case
    assert fold(elements) == fold(shuffled)
    assert combine(elements) == combine(shuffled)


@given(st.integers(0, MODULUS - 1), st.integers(0, MODULUS - 1), st.integers(0, MODULUS - 1))
def test_add_commutes_and_associates(a: int, b: int, c: int) -> None:
    start = format(a, "064x")
    assert add(add(start, b), c) == add(add(start, c), b)
    assert add(add(start, b), c) == add(start, (b + c) % MODULUS)
    assert add(add(start, b), c) == add(start, b + c)  # reduced either way


@given(ELEMENTS)
def test_combine_is_repeated_add(elements: list[int]) -> None:
    assert combine(elements) == fold(elements)
    running = EMPTY
    for i, value in enumerate(elements):
        running = add(running, value)
        assert running == combine(elements[: i + 1])  # incremental == recomputed


@given(ELEMENTS, ELEMENTS)
def test_digests_of_disjoint_parts_add_up(left: list[int], right: list[int]) -> None:
    assert merge_digests(combine(left), combine(right)) == combine(left + right)
    assert fold(right, combine(left)) == combine(left + right)


@given(ELEMENTS.filter(lambda xs: len(xs) >= 1), st.data())
def test_leaving_out_any_one_element_changes_the_digest(
    elements: list[int], data: st.DataObject
) -> None:
    full = combine(elements)
    i = data.draw(st.integers(0, len(elements) - 1))
    assert combine(elements[:i] + elements[i + 1 :]) != full


@given(ELEMENTS.filter(lambda xs: len(xs) >= 1), st.data())
def test_counting_an_element_twice_changes_the_digest(
    elements: list[int], data: st.DataObject
) -> None:
    i = data.draw(st.integers(0, len(elements) - 1))
    assert combine([*elements, elements[i]]) != combine(elements)


@given(ELEMENTS, st.data())
def test_replacing_one_element_changes_the_digest(elements: list[int], data: st.DataObject) -> None:
    if not elements:
        return
    i = data.draw(st.integers(0, len(elements) - 1))
    other = element("another-id", 1, "sha256:x")
    if other in elements:
        return
    assert combine([*elements[:i], other, *elements[i + 1 :]]) != combine(elements)


@given(ELEMENTS, st.data())
def test_ranges_split_anywhere_add_up_to_the_whole(
    elements: list[int], data: st.DataObject
) -> None:
    """Bisecting a seq range: the digests of [lo, mid) and [mid, hi) sum to [lo, hi)."""
    n = len(elements)
    lo = data.draw(st.integers(0, n))
    hi = data.draw(st.integers(lo, n))
    mid = data.draw(st.integers(lo, hi))
    whole = combine(elements[lo:hi])
    assert merge_digests(combine(elements[lo:mid]), combine(elements[mid:hi])) == whole
    cuts = sorted(data.draw(st.lists(st.integers(lo, hi), max_size=5)))
    bounds = [lo, *cuts, hi]
    parts = [combine(elements[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    assert reduce(merge_digests, parts, EMPTY) == whole


# --------------------------------------------------------------------------- on a real log


def _log() -> list[dict[str, object]]:
    key = from_seed(bytes([7]) * 32)
    origin = node_id_for(key.public_raw)
    out: list[dict[str, object]] = []
    prev = None
    versions: dict[str, int] = {}
    ids = [RID, "5c9a1e7f-2b4d-4f3a-a6e8-0d7b3c1f9e24"]
    for seq in range(1, 9):
        rid = ids[seq % 2]
        versions[rid] = versions.get(rid, 0) + 1
        env = sealed(
            key,
            origin,
            seq,
            prev,
            {"name": f"m{seq}", "region": "europe"},
            record_id=rid,
            version=versions[rid],
            issued_at="2026-01-01T00:00:00Z",
        )
        prev = header_hash(env["record"])
        out.append(env)
    return out


LOG = _log()


def _element_of(env: dict[str, object]) -> int:
    header = env["record"]
    assert isinstance(header, dict)
    return element(header["id"], header["version"], header_hash(header))


def test_two_holders_of_the_same_records_agree_whatever_they_received_first() -> None:
    one = fold([_element_of(e) for e in LOG])
    other = fold([_element_of(e) for e in reversed(LOG)])
    assert one == other == combine([_element_of(e) for e in LOG])


def test_a_stub_counts_like_its_live_version() -> None:
    """The element hashes the header only: a stub (body dropped) is the same element."""
    env = LOG[0]
    assert _element_of({**env, "body": None}) == _element_of(env)


def test_a_holder_missing_any_record_disagrees() -> None:
    full = combine([_element_of(e) for e in LOG])
    for i in range(len(LOG)):
        partial = combine([_element_of(e) for j, e in enumerate(LOG) if j != i])
        assert partial != full


def test_a_substituted_record_changes_the_digest() -> None:
    header = dict(LOG[3]["record"])  # type: ignore[arg-type]
    header["issued_at"] = "2026-01-02T00:00:00Z"
    swapped = [*LOG[:3], {"record": header, "body": None, "sig": ""}, *LOG[4:]]
    assert combine([_element_of(e) for e in swapped]) != combine([_element_of(e) for e in LOG])
