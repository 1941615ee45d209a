"""Distance search of the public member directory: GET /members?near=…&within_km=…,
across the antimeridian and near the poles.

Data is created through the admin API; every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.clock import Clock
from support.member_directory import add, items, page, walk
from support.nodes import Node, make_node

from schemas.geo import EARTH_RADIUS_KM, Region, haversine_km

# --------------------------------------------------------------------------- helpers


@pytest.fixture
def region_node(tmp_path: Path, database_url: str, clock: Clock) -> Iterator[Callable[..., Node]]:
    """Build one node of another region on this test's database (instead of ``node``)."""
    made: list[Node] = []

    def build(region: Region, name: str) -> Node:
        assert not made, "one node per database"
        n = make_node(tmp_path / "h2", database_url, clock, region=region, name=name)
        made.append(n)
        return n

    yield build
    for n in made:
        n.client.close()
        n.engine.dispose()


# --------------------------------------------------------------------------- near


ASIA = [
    ("Tokyo", "JP", 35.6762, 139.6503),
    ("Tokyo Annex", "JP", 35.6762, 139.6503),
    ("Yokohama", "JP", 35.4437, 139.6380),
    ("Kawasaki", "JP", 35.5308, 139.7029),
    ("Chiba", "JP", 35.6074, 140.1065),
    ("Saitama", "JP", 35.8617, 139.6455),
    ("Osaka", "JP", 34.6937, 135.5023),
    ("Sendai", "JP", 38.2682, 140.8694),
    ("Sapporo", "JP", 43.0618, 141.3545),
    ("Seoul", "KR", 37.5665, 126.9780),
    ("Busan", "KR", 35.1796, 129.0756),
    ("Beijing", "CN", 39.9042, 116.4074),
    ("Shanghai", "CN", 31.2304, 121.4737),
    ("Hong Kong", "HK", 22.3193, 114.1694),
    ("Taipei", "TW", 25.0330, 121.5654),
    ("Manila", "PH", 14.5995, 120.9842),
    ("Hanoi", "VN", 21.0278, 105.8342),
    ("Bangkok", "TH", 13.7563, 100.5018),
    ("Singapore", "SG", 1.3521, 103.8198),
    ("Kuala Lumpur", "MY", 3.1390, 101.6869),
    ("Jakarta", "ID", -6.2088, 106.8456),
    ("Dhaka", "BD", 23.8103, 90.4125),
    ("Kathmandu", "NP", 27.7172, 85.3240),
    ("Delhi", "IN", 28.6139, 77.2090),
    ("Mumbai", "IN", 19.0760, 72.8777),
    ("Karachi", "PK", 24.8607, 67.0011),
    ("Tashkent", "UZ", 41.2995, 69.2401),
    ("Ulaanbaatar", "MN", 47.8864, 106.9057),
    ("Dubai", "AE", 25.2048, 55.2708),
    ("Riyadh", "SA", 24.7136, 46.6753),
    ("Tehran", "IR", 35.6892, 51.3890),
]


def check_near(
    listed: list[dict[str, Any]], places: dict[str, tuple[float, float]], lat: float, lon: float
) -> None:
    """``listed`` is every place, nearest first by great-circle distance."""
    assert sorted(m["id"] for m in listed) == sorted(places)
    for m in listed:
        expected = haversine_km(lat, lon, *places[m["id"]])
        assert m["distance_km"] == pytest.approx(expected, abs=0.002), m["name"]
    distances = [m["distance_km"] for m in listed]
    assert distances == sorted(distances)
    truth = sorted(haversine_km(lat, lon, *p) for p in places.values())
    assert distances == pytest.approx(truth, abs=0.002)


def check_within(
    node: Node, places: dict[str, tuple[float, float]], lat: float, lon: float, km: float
) -> set[str]:
    """``within_km`` returns exactly the places within ``km`` (none lies on the edge),
    nearest first; returns their ids."""
    dist = {mid: haversine_km(lat, lon, *p) for mid, p in places.items()}
    assert all(abs(d - km) > 0.5 for d in dist.values()), "pick a radius off the edge"
    listed = items(node, near=f"{lat},{lon}", within_km=km)
    assert {m["id"] for m in listed} == {mid for mid, d in dist.items() if d <= km}
    distances = [m["distance_km"] for m in listed]
    assert distances == sorted(distances)
    assert page(node, near=f"{lat},{lon}", within_km=km, count=True)["total"] == len(listed)
    return {m["id"] for m in listed}


def test_near_orders_by_distance_and_pages_across_radii(
    region_node: Callable[..., Node],
) -> None:
    node = region_node(Region.ASIA, "Asia Hub")
    places: dict[str, tuple[float, float]] = {}
    for city, country, lat, lon in ASIA:
        mid = add(
            node,
            name=f"{city} Medical",
            region="asia",
            country=country,
            city=city,
            latitude=lat,
            longitude=lon,
            social=[],
            topics=[],
            languages=["en"],
        )
        places[mid] = (lat, lon)
    nowhere = add(
        node,
        name="Nowhere Clinic",
        region="asia",
        country="JP",
        city=None,
        latitude=None,
        longitude=None,
        social=[],
        topics=[],
    )
    assert len(places) == 31

    for (lat, lon), limit in (
        ((35.6762, 139.6503), 4),
        ((28.6139, 77.2090), 7),
        ((10.0, 60.0), 3),
        ((-40.0, 170.0), 6),
    ):
        listed = walk(node, near=f"{lat},{lon}", limit=limit)
        check_near(listed, places, lat, lon)
        assert nowhere not in {m["id"] for m in listed}
        one_page = items(node, near=f"{lat},{lon}")
        assert [m["distance_km"] for m in one_page] == [m["distance_km"] for m in listed]

    tokyo = items(node, near="35.6762,139.6503", limit=3)
    assert {m["name"] for m in tokyo[:2]} == {"Tokyo Medical", "Tokyo Annex Medical"}
    assert tokyo[0]["distance_km"] == tokyo[1]["distance_km"] == 0
    # near combines with filters and counts only members with coordinates
    assert page(node, near="35,135", count=True)["total"] == 31
    assert page(node, count=True)["total"] == 32
    japan = {mid: p for mid, p in places.items() if 30 < p[0] < 44 and 135 < p[1] < 142}
    assert len(japan) == 9
    check_near(walk(node, near="28.6139,77.2090", country="JP", limit=4), japan, 28.6139, 77.2090)
    # without near there is no distance
    assert all("distance_km" not in m for m in items(node))


def test_within_km_boundaries(node: Node) -> None:
    centre = (51.8426, 5.8528)
    spots = {
        "Nijmegen": centre,
        "Arnhem": (51.9851, 5.8987),
        "Amsterdam": (52.3676, 4.9041),
        "Brussels": (50.8503, 4.3517),
        "Paris": (48.8566, 2.3522),
    }
    countries = {"Brussels": "BE", "Paris": "FR"}
    ids = {}
    for city, (lat, lon) in spots.items():
        ids[city] = add(
            node,
            name=f"{city} Hospital",
            city=city,
            country=countries.get(city, "NL"),
            latitude=lat,
            longitude=lon,
            social=[],
            topics=[],
        )
    add(node, name="Virtual Care", city=None, latitude=None, longitude=None, social=[])
    dist = {city: haversine_km(*centre, *p) for city, p in spots.items()}
    near = f"{centre[0]},{centre[1]}"

    def within(km: float) -> list[str]:
        return [m["name"].removesuffix(" Hospital") for m in items(node, near=near, within_km=km)]

    assert within(0.001) == ["Nijmegen"]  # distance 0 is within any radius
    assert within(dist["Amsterdam"] + 0.01) == ["Nijmegen", "Arnhem", "Amsterdam"]
    assert within(dist["Amsterdam"] - 0.01) == ["Nijmegen", "Arnhem"]
    assert within(dist["Brussels"] + 0.01) == ["Nijmegen", "Arnhem", "Amsterdam", "Brussels"]
    assert within(dist["Paris"] - 0.01) == ["Nijmegen", "Arnhem", "Amsterdam", "Brussels"]
    assert within(dist["Paris"] + 0.01) == list(spots)
    assert within(20040) == list(spots)  # "Virtual Care" has no coordinates
    assert page(node, near=near, within_km=dist["Brussels"] + 0.01, count=True)["total"] == 4
    assert page(node, near=near, count=True)["total"] == 5
    # paging inside a radius
    got = walk(node, near=near, within_km=dist["Brussels"] + 0.01, limit=3)
    assert [m["id"] for m in got] == [
        ids[c] for c in ("Nijmegen", "Arnhem", "Amsterdam", "Brussels")
    ]
    # within_km from another centre
    assert {m["city"] for m in items(node, near="52.3676,4.9041", within_km=60)} == {"Amsterdam"}

    # The circle's easternmost and westernmost points lie north of its centre (61.25N for
    # a centre at 60N and 1000 km), where a degree of longitude is shorter than at the centre.
    lat0, lon0, radius = 60.0, 0.0, 1000.0
    r = radius / EARTH_RADIUS_KM
    lat_t = round(math.degrees(math.asin(math.sin(math.radians(lat0)) / math.cos(r))), 6)
    dlon = round(math.degrees(math.asin(math.sin(r) / math.cos(math.radians(lat0)))), 6)
    places = {ids[c]: p for c, p in spots.items()}
    edges = set()
    for name, country, lon in (("East Edge", "SE", lon0 + dlon), ("West Edge", "IS", lon0 - dlon)):
        mid = add(
            node,
            name=name,
            country=country,
            city=name,
            latitude=lat_t,
            longitude=lon,
            social=[],
            topics=[],
        )
        places[mid] = (lat_t, lon)
        edges.add(mid)
        assert haversine_km(lat0, lon0, lat_t, lon) == pytest.approx(radius, abs=0.01)
    assert edges <= check_within(node, places, lat0, lon0, radius + 1)
    assert not edges & check_within(node, places, lat0, lon0, radius - 1)
    assert len(edges & check_within(node, places, 59.0, 1.0, 1000)) == 1


def test_near_across_the_antimeridian(region_node: Callable[..., Node]) -> None:
    node = region_node(Region.OCEANIA, "Pacific Health Hub")
    spots = [
        ("Taveuni East", "FJ", -16.79, -179.99),
        ("Suva", "FJ", -18.1416, 178.4419),
        ("Apia", "WS", -13.8333, -171.7667),
        ("Nuku'alofa", "TO", -21.1394, -175.2049),
        ("Port Vila", "VU", -17.7333, 168.3273),
        ("Auckland", "NZ", -36.8485, 174.7633),
        ("Sydney", "AU", -33.8688, 151.2093),
        ("Perth", "AU", -31.9505, 115.8605),
    ]
    places = {}
    by_city = {}
    for city, country, lat, lon in spots:
        mid = add(
            node,
            name=f"{city} Health",
            region="oceania",
            country=country,
            city=city,
            latitude=lat,
            longitude=lon,
            social=[],
            topics=[],
            languages=["en"],
        )
        places[mid] = (lat, lon)
        by_city[city] = mid

    for lat, lon in (
        (-16.8, 179.9),
        (-16.8, -179.9),
        (-14.0, -172.0),
        (-18.0, 180.0),
        (-18.0, -180.0),
    ):
        listed = walk(node, near=f"{lat},{lon}", limit=2)
        check_near(listed, places, lat, lon)

    first = items(node, near="-16.8,179.9")
    assert [m["city"] for m in first[:4]] == ["Taveuni East", "Suva", "Nuku'alofa", "Apia"]
    assert first[0]["distance_km"] < 15
    # a radius must look on both sides of the line
    assert check_within(node, places, -16.8, 179.9, 50) == {by_city["Taveuni East"]}
    assert check_within(node, places, -18.14, -179.95, 200) == {
        by_city["Taveuni East"],
        by_city["Suva"],
    }
    assert check_within(node, places, -17.5, -179.5, 1000) == {
        by_city[c] for c in ("Taveuni East", "Suva", "Apia", "Nuku'alofa")
    }
    assert check_within(node, places, -25.0, 179.99, 1200) == {
        by_city[c] for c in ("Suva", "Nuku'alofa", "Taveuni East")
    }


def test_near_a_pole(node: Node) -> None:
    spots = [
        ("North Cap A", "NO", 89.0, 0.0),
        ("North Cap B", "NO", 89.0, 180.0),
        ("Polar C", "NO", 88.0, 90.0),
        ("Polar D", "NO", 85.0, -120.0),
        ("Oslo", "NO", 59.9139, 10.7522),
        ("Reykjavik", "IS", 64.1466, -21.9426),
        ("Longyearbyen", "NO", 78.2232, 15.6267),
    ]
    places = {}
    for city, country, lat, lon in spots:
        places[
            add(
                node,
                name=f"{city} Station",
                country=country,
                city=city,
                latitude=lat,
                longitude=lon,
                social=[],
                topics=[],
            )
        ] = (lat, lon)
    add(node, name="Online Only", city=None, latitude=None, longitude=None, social=[])

    for lat, lon in (
        (90.0, 0.0),
        (90.0, 123.0),
        (89.5, -170.0),
        (89.9, 45.0),
        (-90.0, 0.0),
        (70.0, 179.0),
    ):
        check_near(walk(node, near=f"{lat},{lon}", limit=2), places, lat, lon)
    north = [m["city"] for m in items(node, near="90,0")]
    assert set(north[:2]) == {"North Cap A", "North Cap B"}
    assert north[2:] == ["Polar C", "Polar D", "Longyearbyen", "Reykjavik", "Oslo"]
    assert [m["city"] for m in items(node, near="-90,0")][:2] == ["Oslo", "Reykjavik"]
    assert [m["city"] for m in items(node, near="89.5,-170")][0] == "North Cap B"
    by_city = {m.get("city"): m["id"] for m in items(node)}
    assert check_within(node, places, 90, 0, 250) == {
        by_city[c] for c in ("North Cap A", "North Cap B", "Polar C")
    }
    assert check_within(node, places, 89.9, 60, 130) == {
        by_city[c] for c in ("North Cap A", "North Cap B")
    }
    assert check_within(node, places, 80, -170, 1500) == {
        by_city[c] for c in ("North Cap A", "North Cap B", "Polar C", "Polar D")
    }
