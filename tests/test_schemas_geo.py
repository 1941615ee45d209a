"""Tests for ``schemas.geo``: regions of countries, country and time-zone checks, and the
haversine distance (checked against an independent formula)."""

from __future__ import annotations

import math

import pytest

from schemas.geo import Region, check_country, check_timezone, haversine_km, region_of_country

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
