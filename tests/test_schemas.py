"""Validation tests for the wire models in ``schemas`` (pydantic v2).

Every rejection case asserts *where* the error is reported (``loc``) and what it says, so a
validator that starts rejecting for the wrong reason, or reporting on the wrong field, fails.

Cross-field checks (latitude/longitude pairing, country/region consistency, event start/end
ordering, wall-clock times that the clocks skip, online_url-or-venue, venue region) are field
validators reading ``info.data``, so each error is reported on the field at fault: ``country``
for a country outside its region, ``longitude`` for an incomplete pair (``venue.longitude``
inside a venue), ``starts_at``/``ends_at`` for a skipped time, ``ends_at`` for an end not after
the start, and ``venue`` for a missing location or a venue outside the region. Only
``SocialAccount``'s handle-or-url check is still a model validator (reported at the entry's loc).
"""

from __future__ import annotations

import copy
import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.event import EventBody, EventStatus, Venue
from schemas.geo import (
    Region,
    check_country,
    check_language,
    check_timezone,
    haversine_km,
    region_of_country,
)
from schemas.member import MemberBody, MemberKind, NetworkRole, Platform, SocialAccount

DELETE = object()  # sentinel: remove the key from the base payload


def _mayo() -> dict[str, Any]:
    return {
        "name": "Mayo Clinic",
        "kind": "academic-medical-centre",
        "region": "north-america",
        "country": "US",
        "city": "Rochester",
        "latitude": 44.0121,
        "longitude": -92.4802,
        "website": "https://www.mayoclinic.org",
        "social": [
            {"platform": "x", "handle": "@MayoClinic", "url": "https://x.com/MayoClinic"},
            {"platform": "facebook", "url": "https://www.facebook.com/MayoClinic"},
            {"platform": "youtube", "handle": "@mayoclinic"},
        ],
        "topics": ["Social Media", "patient education", "research"],
        "languages": ["en", "es"],
        "network_role": "hub",
        "joined": "2010-07-01",
        "contact": {"name": "Media Relations", "email": "newsbureau@mayo.edu"},
        "description": "  A nonprofit academic medical centre.  ",
    }


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


def _with(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(base)
    for key, value in overrides.items():
        if value is DELETE:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def _errors(model: type, data: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return info.value.errors()


# --------------------------------------------------------------------------------------
# MemberBody: acceptance and normalisation
# --------------------------------------------------------------------------------------


def test_member_accepts_realistic_mayo_clinic() -> None:
    m = MemberBody.model_validate(_mayo())

    assert m.name == "Mayo Clinic"
    assert m.kind is MemberKind.ACADEMIC_MEDICAL_CENTRE
    assert m.region is Region.NORTH_AMERICA
    assert m.country == "US"
    assert m.city == "Rochester"
    assert (m.latitude, m.longitude) == (44.0121, -92.4802)
    assert m.website == "https://www.mayoclinic.org"
    assert [s.platform for s in m.social] == [Platform.X, Platform.FACEBOOK, Platform.YOUTUBE]
    assert m.social[0].handle == "@MayoClinic"
    assert m.social[1].handle is None and m.social[1].url == "https://www.facebook.com/MayoClinic"
    assert m.social[2].url is None
    assert m.topics == ["social media", "patient education", "research"]
    assert m.languages == ["en", "es"]
    assert m.network_role is NetworkRole.HUB
    assert m.joined == "2010-07-01"
    assert m.contact is not None
    assert m.contact.email == "newsbureau@mayo.edu"
    assert m.description == "A nonprofit academic medical centre."


def test_member_minimal_defaults() -> None:
    m = MemberBody.model_validate(
        {"name": "Radboudumc", "kind": "hospital", "region": "europe", "country": "NL"}
    )
    assert m.network_role is NetworkRole.MEMBER
    assert m.social == [] and m.topics == [] and m.languages == []
    assert m.latitude is None and m.longitude is None and m.joined is None


def test_member_round_trips_through_json() -> None:
    m = MemberBody.model_validate(_mayo())
    again = MemberBody.model_validate_json(m.model_dump_json())
    assert again == m


def test_member_country_lowercase_is_upper_cased() -> None:
    m = MemberBody.model_validate(_with(_mayo(), {"country": "us"}))
    assert m.country == "US"


def test_member_name_is_stripped_and_200_chars_allowed() -> None:
    m = MemberBody.model_validate(_with(_mayo(), {"name": "  " + "x" * 200 + "  "}))
    assert m.name == "x" * 200


@pytest.mark.parametrize(
    ("lat", "lon", "want_lat", "want_lon"),
    [
        (44.01211234567, -92.48029999999, 44.012112, -92.4803),
        (51.84260000000001, 5.852800000000001, 51.8426, 5.8528),
        (12.34567849, 0.0000004, 12.345678, 0.0),
        (90, -180, 90.0, -180.0),
        (-90, 180, -90.0, 180.0),
    ],
)
def test_member_coordinates_rounded_to_6_decimals(
    lat: float, lon: float, want_lat: float, want_lon: float
) -> None:
    m = MemberBody.model_validate(_with(_mayo(), {"latitude": lat, "longitude": lon}))
    assert m.latitude == pytest.approx(want_lat, abs=1e-12)
    assert m.longitude == pytest.approx(want_lon, abs=1e-12)
    # the JSON carries at most 6 decimals: no float noise such as 52.84300000000001
    dumped = json.loads(m.model_dump_json())
    for key in ("latitude", "longitude"):
        decimals = repr(float(dumped[key])).split(".")[1]
        assert len(decimals) <= 6, dumped[key]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("en", "en"),
        ("EN", "en"),
        ("en-us", "en-US"),
        ("en_US", "en-US"),
        ("pt-br", "pt-BR"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("nld", "nl"),  # ISO 639-2/3 code replaced by its 2-letter equivalent
        ("en-latn-us", "en-US"),  # suppressed script
    ],
)
def test_member_language_tags_normalised(given: str, expected: str) -> None:
    m = MemberBody.model_validate(_with(_mayo(), {"languages": [given]}))
    assert m.languages == [expected]
    assert check_language(given) == expected


def test_member_languages_deduplicated_after_normalisation() -> None:
    m = MemberBody.model_validate(
        _with(_mayo(), {"languages": ["en-us", "en-US", "EN", "es", "en", "ES"]})
    )
    assert m.languages == ["en-US", "en", "es"]


def test_member_topics_lowercased_stripped_and_deduplicated_in_order() -> None:
    m = MemberBody.model_validate(
        _with(
            _mayo(),
            {"topics": ["Cardiology", "cardiology ", " CARDIOLOGY", "AI & Ethics", "covid-19"]},
        )
    )
    assert m.topics == ["cardiology", "ai & ethics", "covid-19"]


def test_member_topic_of_60_chars_allowed() -> None:
    m = MemberBody.model_validate(_with(_mayo(), {"topics": ["a" * 60]}))
    assert m.topics == ["a" * 60]


def test_member_leap_day_joined_accepted() -> None:
    m = MemberBody.model_validate(_with(_mayo(), {"joined": "2024-02-29"}))
    assert m.joined == "2024-02-29"


def test_member_country_without_region_is_unconstrained() -> None:
    # Antarctica maps to no region of the network, so any region is accepted for it.
    m = MemberBody.model_validate(_with(_mayo(), {"country": "AQ", "region": "europe"}))
    assert m.country == "AQ" and m.region is Region.EUROPE


@pytest.mark.parametrize(
    ("country", "region"),
    [
        ("NL", "europe"),
        ("JP", "asia"),
        ("AU", "oceania"),
        ("BR", "south-america"),
        ("ZA", "africa"),
        ("CA", "north-america"),
    ],
)
def test_member_country_in_matching_region_accepted(country: str, region: str) -> None:
    m = MemberBody.model_validate(_with(_mayo(), {"country": country, "region": region}))
    assert m.region == region


def test_social_account_handle_only_and_url_only() -> None:
    assert SocialAccount(platform="x", handle="@a").url is None
    assert SocialAccount(platform="blog", url="https://a.example").handle is None


# --------------------------------------------------------------------------------------
# MemberBody: rejections
# --------------------------------------------------------------------------------------

MEMBER_REJECTIONS = [
    # (id, overrides, expected loc, fragment of the message)
    ("unknown-kind", {"kind": "spaceship"}, ("kind",), "Input should be"),
    ("unknown-region", {"region": "antarctica"}, ("region",), "Input should be"),
    ("unknown-network-role", {"network_role": "boss"}, ("network_role",), "Input should be"),
    ("country-XX", {"country": "XX"}, ("country",), "ISO 3166-1 alpha-2"),
    ("country-USA", {"country": "USA"}, ("country",), "ISO 3166-1 alpha-2"),
    ("country-empty", {"country": ""}, ("country",), "ISO 3166-1 alpha-2"),
    (
        "country-region-mismatch",
        {"country": "NL"},  # region stays north-america
        ("country",),
        "country NL is in region europe, not north-america",
    ),
    (
        "country-region-mismatch-jp",
        {"country": "JP", "region": "europe"},
        ("country",),
        "country JP is in region asia, not europe",
    ),
    ("latitude-91", {"latitude": 91}, ("latitude",), "less than or equal to 90"),
    ("latitude--91", {"latitude": -91}, ("latitude",), "greater than or equal to -90"),
    ("longitude-181", {"longitude": 181}, ("longitude",), "less than or equal to 180"),
    ("latitude-nan", {"latitude": float("nan")}, ("latitude",), "90"),
    ("latitude-text", {"latitude": "north"}, ("latitude",), "valid number"),
    # strict floats: numeric text and booleans are client mistakes, not coordinates
    ("latitude-numeric-text", {"latitude": "44.5"}, ("latitude",), "valid number"),
    ("longitude-numeric-text", {"longitude": "-92.48"}, ("longitude",), "valid number"),
    ("latitude-true", {"latitude": True}, ("latitude",), "valid number"),
    ("longitude-false", {"longitude": False}, ("longitude",), "valid number"),
    (
        "longitude-without-latitude-key",
        {"latitude": DELETE},
        ("longitude",),
        "latitude is required when longitude is given",
    ),
    (
        "latitude-without-longitude",
        {"longitude": DELETE},
        ("longitude",),
        "longitude is required when latitude is given",
    ),
    (
        "longitude-without-latitude",
        {"latitude": None},
        ("longitude",),
        "latitude is required when longitude is given",
    ),
    ("website-ftp", {"website": "ftp://ftp.mayoclinic.org"}, ("website",), "http(s) URL"),
    ("website-no-scheme", {"website": "www.mayoclinic.org"}, ("website",), "http(s) URL"),
    ("website-scheme-only", {"website": "https://"}, ("website",), "http(s) URL"),
    ("website-space", {"website": "https://mayo clinic.org"}, ("website",), "http(s) URL"),
    (
        "website-too-long",
        {"website": "https://a.example/" + "p" * 500},
        ("website",),
        "at most 500",
    ),
    (
        "social-neither-handle-nor-url",
        {"social": [{"platform": "x"}]},
        ("social", 0),
        "needs a handle or a url",
    ),
    (
        "social-second-entry-bad",
        {"social": [{"platform": "x", "handle": "@a"}, {"platform": "youtube", "handle": None}]},
        ("social", 1),
        "needs a handle or a url",
    ),
    (
        "social-unknown-platform",
        {"social": [{"platform": "myspace", "handle": "@mayo"}]},
        ("social", 0, "platform"),
        "Input should be",
    ),
    (
        "social-bad-url",
        {"social": [{"platform": "blog", "url": "mayo.blog"}]},
        ("social", 0, "url"),
        "http(s) URL",
    ),
    (
        "social-extra-field",
        {"social": [{"platform": "x", "handle": "@a", "followers": 10}]},
        ("social", 0, "followers"),
        "Extra inputs are not permitted",
    ),
    ("language-word", {"languages": ["en", "english"]}, ("languages", 1), "BCP 47"),
    ("language-trailing-dash", {"languages": ["en-"]}, ("languages", 0), "BCP 47"),
    ("language-unknown-xx", {"languages": ["xx"]}, ("languages", 0), "BCP 47"),
    ("language-punctuation", {"languages": ["!!"]}, ("languages", 0), "BCP 47"),
    ("topic-punctuation", {"topics": ["research", "!!"]}, ("topics", 1), "a topic is"),
    ("topic-empty", {"topics": ["   "]}, ("topics", 0), "a topic is"),
    ("topic-too-long", {"topics": ["a" * 61]}, ("topics", 0), "a topic is"),
    ("topic-leading-dash", {"topics": ["-x"]}, ("topics", 0), "a topic is"),
    (
        "too-many-topics",
        {"topics": [f"topic {i}" for i in range(21)]},
        ("topics",),
        "at most 20",
    ),
    ("extra-field", {"founded": 1889}, ("founded",), "Extra inputs are not permitted"),
    ("name-empty", {"name": ""}, ("name",), "at least 1 character"),
    ("name-whitespace", {"name": "   \t "}, ("name",), "at least 1 character"),
    ("name-201", {"name": "x" * 201}, ("name",), "at most 200 characters"),
    ("name-missing", {"name": DELETE}, ("name",), "Field required"),
    ("joined-feb-30", {"joined": "2024-02-30"}, ("joined",), "day is out of range"),
    ("joined-feb-29-non-leap", {"joined": "2023-02-29"}, ("joined",), "day is out of range"),
    ("joined-month-13", {"joined": "2024-13-01"}, ("joined",), "month must be in 1..12"),
    ("joined-short", {"joined": "2024-2-3"}, ("joined",), "String should match pattern"),
    ("joined-datetime", {"joined": "2010-07-01T00:00"}, ("joined",), "should match pattern"),
    ("joined-newline", {"joined": "2010-07-01\n"}, ("joined",), "should match pattern"),
    (
        "contact-email",
        {"contact": {"email": "newsbureau@mayo"}},
        ("contact", "email"),
        "should match pattern",
    ),
    (
        "contact-extra",
        {"contact": {"fax": "+1 507 284 2511"}},
        ("contact", "fax"),
        "Extra inputs are not permitted",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "loc", "fragment"),
    [pytest.param(o, loc, frag, id=i) for i, o, loc, frag in MEMBER_REJECTIONS],
)
def test_member_rejects(overrides: dict[str, Any], loc: tuple[Any, ...], fragment: str) -> None:
    errors = _errors(MemberBody, _with(_mayo(), overrides))
    assert [e["loc"] for e in errors] == [loc], errors
    assert fragment in errors[0]["msg"], errors[0]["msg"]


def test_member_integer_coordinates_accepted_as_floats() -> None:
    # strict floats still take JSON integers; they are stored (and signed) as floats
    m = MemberBody.model_validate(_with(_mayo(), {"latitude": 44, "longitude": -92}))
    assert (m.latitude, m.longitude) == (44.0, -92.0)
    assert type(m.latitude) is float and type(m.longitude) is float
    dumped = json.loads(m.model_dump_json())
    assert (dumped["latitude"], dumped["longitude"]) == (44.0, -92.0)


@pytest.mark.parametrize("value", ["44.5", True])
def test_member_latitude_strict_from_json(value: Any) -> None:
    # the wire path (JSON bytes) is strict too, not only model_validate on Python objects
    payload = json.dumps(_with(_mayo(), {"latitude": value}))
    with pytest.raises(ValidationError) as info:
        MemberBody.model_validate_json(payload)
    errors = info.value.errors()
    assert [e["loc"] for e in errors] == [("latitude",)], errors
    assert errors[0]["type"] == "float_type"
    assert "valid number" in errors[0]["msg"]


def test_member_region_mismatch_message_names_home_region() -> None:
    errors = _errors(MemberBody, _with(_mayo(), {"country": "nl", "city": "Nijmegen"}))
    assert len(errors) == 1
    assert errors[0]["type"] == "value_error"
    assert "europe" in errors[0]["msg"]
    assert "NL" in errors[0]["msg"]  # the normalised code, not the raw input


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


# --------------------------------------------------------------------------------------
# schemas.geo
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "region"),
    [
        ("US", Region.NORTH_AMERICA),
        ("NL", Region.EUROPE),
        ("JP", Region.ASIA),
        ("AU", Region.OCEANIA),
        ("BR", Region.SOUTH_AMERICA),
        ("ZA", Region.AFRICA),
        ("nl", Region.EUROPE),
        ("MX", Region.NORTH_AMERICA),
        ("NZ", Region.OCEANIA),
    ],
)
def test_region_of_country(code: str, region: Region) -> None:
    assert region_of_country(code) is region


@pytest.mark.parametrize("code", ["XX", "ZZ", "AQ", "", "USA"])
def test_region_of_unknown_country_is_none(code: str) -> None:
    assert region_of_country(code) is None


@pytest.mark.parametrize(
    ("given", "expected"), [("US", "US"), ("us", "US"), ("nl", "NL"), (" jp ", "JP")]
)
def test_check_country_accepts_and_upper_cases(given: str, expected: str) -> None:
    assert check_country(given) == expected


@pytest.mark.parametrize("code", ["XX", "USA", "U", "", "N L", "12"])
def test_check_country_rejects(code: str) -> None:
    with pytest.raises(ValueError, match="ISO 3166-1 alpha-2"):
        check_country(code)


def test_check_timezone() -> None:
    assert check_timezone("America/Chicago") == "America/Chicago"
    with pytest.raises(ValueError, match="IANA"):
        check_timezone("Mars/Olympus")


MEAN_EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius, stated independently of schemas.geo


def _law_of_cosines_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return MEAN_EARTH_RADIUS_KM * math.acos(max(-1.0, min(1.0, c)))


ROCHESTER = (44.0121, -92.4802)
NIJMEGEN = (51.8426, 5.8528)


def test_haversine_rochester_to_nijmegen() -> None:
    d = haversine_km(*ROCHESTER, *NIJMEGEN)
    # about 6,800 km ("about 7,000 km" as the crow flies across the Atlantic)
    assert 6_700 < d < 6_900
    # independently: the spherical law of cosines agrees to well under a metre
    assert d == pytest.approx(_law_of_cosines_km(*ROCHESTER, *NIJMEGEN), abs=1e-3)
    assert d == pytest.approx(6803.747, abs=0.005)


def test_haversine_symmetric_zero_and_antipodal() -> None:
    assert haversine_km(*ROCHESTER, *NIJMEGEN) == pytest.approx(
        haversine_km(*NIJMEGEN, *ROCHESTER), abs=1e-9
    )
    assert haversine_km(*ROCHESTER, *ROCHESTER) == 0.0
    assert haversine_km(0, 0, 0, 180) == pytest.approx(math.pi * MEAN_EARTH_RADIUS_KM, rel=1e-12)
    # one degree of latitude along a meridian
    assert haversine_km(10, 20, 11, 20) == pytest.approx(
        math.pi * MEAN_EARTH_RADIUS_KM / 180, rel=1e-9
    )
