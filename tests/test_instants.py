"""schemas.instants: the one format every stored and served instant uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.instants import format_utc, parse_utc

instants = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)


@given(instants)
def test_format_then_parse_gives_the_instant_to_the_second(instant: datetime) -> None:
    assert parse_utc(format_utc(instant)) == instant.replace(microsecond=0)


@given(instants, instants)
def test_text_order_is_time_order(a: datetime, b: datetime) -> None:
    a, b = a.replace(microsecond=0), b.replace(microsecond=0)
    assert (format_utc(a) < format_utc(b)) == (a < b)


def test_early_years_keep_four_digits() -> None:
    assert format_utc(datetime(987, 6, 5, 4, 3, 2, tzinfo=UTC)) == "0987-06-05T04:03:02Z"


def test_offsets_are_converted_and_naive_text_is_utc() -> None:
    plus2 = datetime(2027, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert format_utc(plus2) == "2027-03-01T10:00:00Z"
    assert parse_utc("2027-03-01T12:00:00+02:00") == datetime(2027, 3, 1, 10, tzinfo=UTC)
    assert parse_utc("2027-03-01T12:00:00") == datetime(2027, 3, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "yesterday", "2027-13-01T00:00:00Z"])
def test_other_text_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_utc(text)
