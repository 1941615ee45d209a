"""Validation tests for the event wire models in ``schemas.event`` (pydantic v2).

Every rejection case asserts *where* the error is reported (``loc``) and what it says, so a
validator that starts rejecting for the wrong reason, or reporting on the wrong field, fails.

Cross-field checks (start/end ordering, wall-clock times that the clocks skip,
online_url-or-venue, venue region, latitude/longitude pairing inside a venue) are field
validators reading ``info.data``, so each error is reported on the field at fault:
``starts_at``/``ends_at`` for a skipped time, ``ends_at`` for an end not after the start,
``venue.longitude`` for an incomplete pair, and ``venue`` for a missing location or a venue
outside the region.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from support.schema_payloads import DELETE, _errors, _with

from schemas.event import EventBody, EventStatus, Venue


def _webinar() -> dict[str, Any]:
    return {
        "title": "Social Media Residency: Spring Webinar",
        "kind": "webinar",
        "starts_at": "2027-03-14T09:00",
        "ends_at": "2027-03-14T10:30",
        "timezone": "America/Chicago",
        "online_url": "https://example.org/webinars/spring-2027",
        "organizer": "mayo-clinic",
        "region": "north-america",
        "topics": ["Social Media"],
        "language": "en-us",
    }


# --------------------------------------------------------------------------------------
# EventBody
# --------------------------------------------------------------------------------------


def test_event_accepts_webinar() -> None:
    e = EventBody.model_validate(_webinar())
    assert e.kind == "webinar"
    assert e.timezone == "America/Chicago"
    assert e.online_url == "https://example.org/webinars/spring-2027"
    assert e.venue is None
    assert e.status is EventStatus.SCHEDULED
    assert e.language == "en-US"
    assert e.topics == ["social media"]
    # signed fields keep the wall-clock text exactly as sent
    assert (e.starts_at, e.ends_at) == ("2027-03-14T09:00", "2027-03-14T10:30")


def test_event_utc_span_on_us_dst_start_day() -> None:
    # US DST 2027 starts Sunday 2027-03-14 at 02:00 local: 09:00 that day is CDT (UTC-5).
    start, end = EventBody.model_validate(_webinar()).utc_span()
    assert start == datetime(2027, 3, 14, 14, 0, tzinfo=UTC)
    assert end == datetime(2027, 3, 14, 15, 30, tzinfo=UTC)
    assert start.utcoffset() is not None and start.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    ("tz", "starts_at", "ends_at", "utc_start", "utc_end"),
    [
        # the day before DST starts: CST, UTC-6
        (
            "America/Chicago",
            "2027-03-13T09:00",
            "2027-03-13T10:00",
            datetime(2027, 3, 13, 15, 0, tzinfo=UTC),
            datetime(2027, 3, 13, 16, 0, tzinfo=UTC),
        ),
        # spanning the spring-forward jump: 01:00 CST -> 04:00 CDT is only 2 real hours
        (
            "America/Chicago",
            "2027-03-14T01:00",
            "2027-03-14T04:00",
            datetime(2027, 3, 14, 7, 0, tzinfo=UTC),
            datetime(2027, 3, 14, 9, 0, tzinfo=UTC),
        ),
        # DST ends Sunday 2027-11-07 at 02:00: 09:00 is CST again
        (
            "America/Chicago",
            "2027-11-07T09:00",
            "2027-11-07T10:00:30",
            datetime(2027, 11, 7, 15, 0, tzinfo=UTC),
            datetime(2027, 11, 7, 16, 0, 30, tzinfo=UTC),
        ),
        # EU summer time 2027 starts Sunday 2027-03-28: 09:00 CEST = 07:00Z
        (
            "Europe/Amsterdam",
            "2027-03-28T09:00",
            "2027-03-28T17:00",
            datetime(2027, 3, 28, 7, 0, tzinfo=UTC),
            datetime(2027, 3, 28, 15, 0, tzinfo=UTC),
        ),
        (
            "Asia/Tokyo",
            "2027-03-14T09:00",
            "2027-03-14T10:00",
            datetime(2027, 3, 14, 0, 0, tzinfo=UTC),
            datetime(2027, 3, 14, 1, 0, tzinfo=UTC),
        ),
        (
            "UTC",
            "2027-12-31T23:00",
            "2028-01-01T01:00",
            datetime(2027, 12, 31, 23, 0, tzinfo=UTC),
            datetime(2028, 1, 1, 1, 0, tzinfo=UTC),
        ),
    ],
)
def test_event_utc_span(
    tz: str, starts_at: str, ends_at: str, utc_start: datetime, utc_end: datetime
) -> None:
    region = {"Europe": "europe", "Asia": "asia"}.get(tz.split("/")[0], "north-america")
    e = EventBody.model_validate(
        _with(
            _webinar(),
            {"timezone": tz, "starts_at": starts_at, "ends_at": ends_at, "region": region},
        )
    )
    assert e.utc_span() == (utc_start, utc_end)


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "utc_start", "utc_end"),
    [
        # the last second before the gap (CST) and the first minute after it (CDT)
        (
            "2027-03-14T01:59:59",
            "2027-03-14T03:00",
            datetime(2027, 3, 14, 7, 59, 59, tzinfo=UTC),
            datetime(2027, 3, 14, 8, 0, tzinfo=UTC),
        ),
        (
            "2027-03-14T03:00",
            "2027-03-14T04:00",
            datetime(2027, 3, 14, 8, 0, tzinfo=UTC),
            datetime(2027, 3, 14, 9, 0, tzinfo=UTC),
        ),
    ],
)
def test_event_times_just_outside_dst_gap_accepted(
    starts_at: str, ends_at: str, utc_start: datetime, utc_end: datetime
) -> None:
    e = EventBody.model_validate(_with(_webinar(), {"starts_at": starts_at, "ends_at": ends_at}))
    assert e.utc_span() == (utc_start, utc_end)


def test_event_both_times_in_dst_gap_reported_on_each_field() -> None:
    times = {"starts_at": "2027-03-14T02:30", "ends_at": "2027-03-14T02:45"}
    errors = _errors(EventBody, _with(_webinar(), times))
    assert [e["loc"] for e in errors] == [("starts_at",), ("ends_at",)], errors
    for error, local in zip(errors, times.values(), strict=True):
        assert f"{local} does not exist in America/Chicago (the clocks skip it)" in error["msg"]


# US DST 2027 ends 2027-11-07 at 02:00 CDT: the clocks go back to 01:00, so 01:00-01:59 happens
# twice (first as CDT, UTC-5, then as CST, UTC-6). The rule ("fold"): an ambiguous wall-clock
# time is accepted and means its first occurrence.
@pytest.mark.parametrize(
    ("starts_at", "ends_at", "utc_start", "utc_end"),
    [
        (
            "2027-11-07T01:30",
            "2027-11-07T03:00",
            datetime(2027, 11, 7, 6, 30, tzinfo=UTC),  # 01:30 CDT, not 07:30Z (01:30 CST)
            datetime(2027, 11, 7, 9, 0, tzinfo=UTC),
        ),
        (
            "2027-11-07T00:30",
            "2027-11-07T01:30",
            datetime(2027, 11, 7, 5, 30, tzinfo=UTC),
            datetime(2027, 11, 7, 6, 30, tzinfo=UTC),
        ),
        (
            "2027-11-07T01:00",
            "2027-11-07T01:59",
            datetime(2027, 11, 7, 6, 0, tzinfo=UTC),
            datetime(2027, 11, 7, 6, 59, tzinfo=UTC),
        ),
    ],
)
def test_event_ambiguous_time_is_first_occurrence(
    starts_at: str, ends_at: str, utc_start: datetime, utc_end: datetime
) -> None:
    e = EventBody.model_validate(_with(_webinar(), {"starts_at": starts_at, "ends_at": ends_at}))
    assert (e.starts_at, e.ends_at) == (starts_at, ends_at)  # the signed text is untouched
    assert e.utc_span() == (utc_start, utc_end)


def test_event_ambiguous_end_cannot_mean_second_occurrence() -> None:
    # 01:45 CDT -> 01:15 CST would be a real 30-minute event, but under the first-occurrence
    # rule 01:15 is 06:15Z, before 01:45 = 06:45Z, so the end is not after the start.
    times = {"starts_at": "2027-11-07T01:45", "ends_at": "2027-11-07T01:15"}
    errors = _errors(EventBody, _with(_webinar(), times))
    assert [e["loc"] for e in errors] == [("ends_at",)], errors
    assert "ends_at must be after starts_at" in errors[0]["msg"]


def test_event_with_venue_only_accepted() -> None:
    e = EventBody.model_validate(
        _with(
            _webinar(),
            {
                "kind": "conference",
                "online_url": DELETE,
                "venue": {
                    "name": "Mayo Civic Center",
                    "city": "Rochester",
                    "country": "us",
                    "latitude": 44.0205,
                    "longitude": -92.4618,
                },
            },
        )
    )
    assert e.online_url is None
    assert isinstance(e.venue, Venue)
    assert e.venue.country == "US"


def test_event_cancelled_status_accepted() -> None:
    e = EventBody.model_validate(_with(_webinar(), {"status": "cancelled"}))
    assert e.status is EventStatus.CANCELLED


EVENT_REJECTIONS = [
    (
        "end-before-start",
        {"ends_at": "2027-03-14T08:00"},
        ("ends_at",),
        "ends_at must be after starts_at",
    ),
    (
        "end-equals-start",
        {"ends_at": "2027-03-14T09:00"},
        ("ends_at",),
        "ends_at must be after starts_at",
    ),
    (
        "end-previous-day",
        {"ends_at": "2027-03-13T23:00"},
        ("ends_at",),
        "ends_at must be after starts_at",
    ),
    (
        "neither-online-nor-venue",
        {"online_url": DELETE},
        ("venue",),
        "an event needs an online_url, a venue, or both",
    ),
    (
        "online-url-null-no-venue",
        {"online_url": None},
        ("venue",),
        "an event needs an online_url, a venue, or both",
    ),
    (
        "venue-outside-region",
        {"venue": {"city": "Nijmegen", "country": "NL"}},
        ("venue",),
        "country NL is in region europe, not north-america",
    ),
    (
        "venue-bad-country",
        {"venue": {"city": "X", "country": "XX"}},
        ("venue", "country"),
        "ISO 3166-1",
    ),
    ("venue-no-city", {"venue": {"country": "US"}}, ("venue", "city"), "Field required"),
    (
        "venue-latitude-alone",
        {"venue": {"city": "Rochester", "country": "US", "latitude": 44.02}},
        ("venue", "longitude"),
        "longitude is required when latitude is given",
    ),
    (
        "venue-longitude-alone",
        {"venue": {"city": "Rochester", "country": "US", "longitude": -92.46}},
        ("venue", "longitude"),
        "latitude is required when longitude is given",
    ),
    (
        "venue-latitude-true",
        {"venue": {"city": "Rochester", "country": "US", "latitude": True, "longitude": -92.46}},
        ("venue", "latitude"),
        "valid number",
    ),
    (
        "venue-longitude-numeric-text",
        {"venue": {"city": "Rochester", "country": "US", "latitude": 44.02, "longitude": "-92.46"}},
        ("venue", "longitude"),
        "valid number",
    ),
    ("timezone-mars", {"timezone": "Mars/Olympus"}, ("timezone",), "IANA time zone"),
    ("timezone-lowercase", {"timezone": "america/chicago"}, ("timezone",), "IANA time zone"),
    ("timezone-offset", {"timezone": "+01:00"}, ("timezone",), "IANA time zone"),
    (
        "starts-at-with-offset",
        {"starts_at": "2027-03-14T09:00+01:00"},
        ("starts_at",),
        "give a wall-clock time without offset; the zone goes in 'timezone'",
    ),
    (
        "starts-at-too-long",
        {"starts_at": "2027-03-14T09:00:00.000000000000000000001"},
        ("starts_at",),
        "at most 40 characters",
    ),
    (
        "starts-at-with-short-offset",
        {"starts_at": "2027-03-14T09:00+01"},
        ("starts_at",),
        "give a wall-clock time without offset; the zone goes in 'timezone'",
    ),
    (
        "starts-at-zulu",
        {"starts_at": "2027-03-14T09:00Z"},
        ("starts_at",),
        "give a wall-clock time without offset; the zone goes in 'timezone'",
    ),
    (
        "starts-at-space",
        {"starts_at": "2027-03-14 09:00"},
        ("starts_at",),
        "use the form YYYY-MM-DDTHH:MM[:SS]",
    ),
    (
        "starts-at-date-only",
        {"starts_at": "2027-03-14"},
        ("starts_at",),
        "use the form YYYY-MM-DDTHH:MM[:SS]",
    ),
    (
        "starts-at-fraction",
        {"starts_at": "2027-03-14T09:00:00.5"},
        ("starts_at",),
        "use the form YYYY-MM-DDTHH:MM[:SS]",
    ),
    (
        "starts-at-feb-30",
        {"starts_at": "2027-02-30T09:00"},
        ("starts_at",),
        "not a date-time; use YYYY-MM-DDTHH:MM[:SS]",
    ),
    (
        "ends-at-hour-25",
        {"ends_at": "2027-03-14T25:00"},
        ("ends_at",),
        "not a date-time; use YYYY-MM-DDTHH:MM[:SS]",
    ),
    # US DST 2027 starts 2027-03-14 at 02:00 CST: the clocks jump to 03:00, 02:xx never happens
    (
        "starts-at-in-dst-gap",
        {"starts_at": "2027-03-14T02:30", "ends_at": "2027-03-14T04:00"},
        ("starts_at",),
        "2027-03-14T02:30 does not exist in America/Chicago (the clocks skip it)",
    ),
    (
        "starts-at-at-gap-start",
        {"starts_at": "2027-03-14T02:00", "ends_at": "2027-03-14T04:00"},
        ("starts_at",),
        "2027-03-14T02:00 does not exist in America/Chicago (the clocks skip it)",
    ),
    (
        "ends-at-in-dst-gap",
        {"starts_at": "2027-03-14T01:00", "ends_at": "2027-03-14T02:30"},
        ("ends_at",),
        "2027-03-14T02:30 does not exist in America/Chicago (the clocks skip it)",
    ),
    (
        "starts-at-in-eu-dst-gap",
        {
            "timezone": "Europe/Amsterdam",
            "region": "europe",
            "starts_at": "2027-03-28T02:30",
            "ends_at": "2027-03-28T04:00",
        },
        ("starts_at",),
        "2027-03-28T02:30 does not exist in Europe/Amsterdam (the clocks skip it)",
    ),
    ("status-invalid", {"status": "postponed"}, ("status",), "Input should be"),
    ("kind-invalid", {"kind": "hackathon"}, ("kind",), "Input should be"),
    ("online-url-ftp", {"online_url": "ftp://example.org/x"}, ("online_url",), "http(s) URL"),
    ("registration-url", {"registration_url": "example.org"}, ("registration_url",), "http(s) URL"),
    ("language-invalid", {"language": "english"}, ("language",), "BCP 47"),
    ("title-empty", {"title": "  "}, ("title",), "at least 1 character"),
    ("organizer-empty", {"organizer": ""}, ("organizer",), "at least 1 character"),
    ("organizer-too-long", {"organizer": "o" * 65}, ("organizer",), "at most 64"),
    ("extra-field", {"capacity": 300}, ("capacity",), "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(
    ("overrides", "loc", "fragment"),
    [pytest.param(o, loc, frag, id=i) for i, o, loc, frag in EVENT_REJECTIONS],
)
def test_event_rejects(overrides: dict[str, Any], loc: tuple[Any, ...], fragment: str) -> None:
    errors = _errors(EventBody, _with(_webinar(), overrides))
    assert [e["loc"] for e in errors] == [loc], errors
    assert fragment in errors[0]["msg"], errors[0]["msg"]
