"""Validation tests for the member wire models in ``schemas.member`` (pydantic v2).

Every rejection case asserts *where* the error is reported (``loc``) and what it says, so a
validator that starts rejecting for the wrong reason, or reporting on the wrong field, fails.

Cross-field checks (latitude/longitude pairing, country/region consistency) are field
validators reading ``info.data``, so each error is reported on the field at fault: ``country``
for a country outside its region, ``longitude`` for an incomplete pair. Only
``SocialAccount``'s handle-or-url check is still a model validator (reported at the entry's loc).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError
from support.schema_payloads import DELETE, _errors, _with

from schemas.geo import Region, check_language
from schemas.member import MemberBody, MemberKind, NetworkRole, Platform, SocialAccount


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
