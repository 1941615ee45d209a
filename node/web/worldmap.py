"""The world map of the hub's view, drawn from the Natural Earth data shipped in
``mapdata/`` (no tile server, no CDN, no script needed to see it).

``draw`` is pure: TopoJSON in, SVG path strings out, in the Natural Earth I projection
(a compromise projection that keeps every continent recognisable on a phone-sized screen).
``world_map`` is the shell that reads the packaged file once per process.

The directory's map draws the same land as a separate, cacheable image (``land_svg``),
so a page of search results carries only its dots, framed on them by ``frame``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any

import pycountry

from schemas.geo import Region, region_of_country

MAP_FILE = Path(__file__).resolve().parent / "mapdata" / "countries-110m.json"
WIDTH = 960.0
NORTH, SOUTH = 84.0, -57.0  # Antarctica is in no region of the network: cropped away

# Where each region's label sits on the map (lat, lon): roughly the middle of its land.
REGION_ANCHORS: dict[Region, tuple[float, float]] = {
    Region.NORTH_AMERICA: (58.0, -108.0),
    Region.SOUTH_AMERICA: (-14.0, -60.0),
    Region.EUROPE: (63.0, 30.0),
    Region.AFRICA: (6.0, 19.0),
    Region.ASIA: (44.0, 92.0),
    Region.OCEANIA: (-27.0, 124.0),
}

Point = tuple[float, float]


def natural_earth(lon: float, lat: float) -> Point:
    """Natural Earth I (Šavrič, Jenny, Patterson and Jenny, 2011), in radians-scaled units:
    x in about ±2.74, y in about ±1.42, y growing northwards."""
    lam, phi = math.radians(lon), math.radians(lat)
    p2 = phi * phi
    p4 = p2 * p2
    x = lam * (0.8707 - 0.131979 * p2 + p4 * (-0.013791 + p4 * (0.003971 * p2 - 0.001529 * p4)))
    y = phi * (1.007226 + p2 * (0.015085 + p4 * (-0.044475 + 0.028874 * p2 - 0.005916 * p4)))
    return x, y


_X_MAX = natural_earth(180.0, 0.0)[0]
_SCALE = WIDTH / (2 * _X_MAX)
_TOP = natural_earth(0.0, NORTH)[1]
HEIGHT = round((_TOP - natural_earth(0.0, SOUTH)[1]) * _SCALE, 1)


def point(lat: float, lon: float, *, digits: int = 1) -> Point:
    """Map coordinates (SVG user units, y down) of a place."""
    x, y = natural_earth(lon, lat)
    return round((x + _X_MAX) * _SCALE, digits), round((_TOP - y) * _SCALE, digits)


@dataclass(frozen=True)
class Shape:
    """One country: its name, ISO alpha-2 code (None for the few Natural Earth units
    without an ISO code, such as Kosovo) and its network region, with the SVG path."""

    name: str
    code: str | None
    region: str | None
    d: str


def _arcs(topology: dict[str, Any]) -> list[list[Point]]:
    """Absolute (lon, lat) points of every arc: TopoJSON quantises and delta-encodes them."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    decoded = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        decoded.append(points)
    return decoded


def _ring(indexes: Iterable[int], arcs: Sequence[list[Point]]) -> list[Point]:
    ring: list[Point] = []
    for i in indexes:
        # A negative index ~i is arc i walked backwards; consecutive arcs share an endpoint.
        points = arcs[i] if i >= 0 else arcs[~i][::-1]
        ring.extend(points[1:] if ring else points)
    return ring


def _split(ring: list[Point]) -> list[list[Point]]:
    """A ring that crosses the antimeridian (a jump of more than 180 degrees between two
    points: Fiji, Chukotka, the Aleutians) would be drawn as a stripe across the map.
    Unwrapped to continuous longitudes, it is drawn twice, once clamped to each edge: the
    clamped copy covers exactly the part on that side (clamping adds only zero-area slivers
    along the edge)."""
    offset, unwrapped = 0.0, list[Point]()
    for i, (lon, lat) in enumerate(ring):
        if i and abs(lon + offset - unwrapped[-1][0]) > 180:
            offset += 360 if lon + offset < unwrapped[-1][0] else -360
        unwrapped.append((lon + offset, lat))
    if all(-180 <= lon <= 180 for lon, _ in unwrapped):
        return [ring]
    shift = 360 if min(lon for lon, _ in unwrapped) < -180 else -360
    return [[(max(-180.0, min(180.0, lon + d)), lat) for lon, lat in unwrapped] for d in (0, shift)]


def _path(rings: Iterable[list[Point]]) -> str:
    parts = []
    for ring in rings:
        last = None
        coords = []
        for lon, lat in ring:
            # Whole units: at 960 wide a unit is under a pixel on most screens, and the
            # page is half the size it would be with one decimal.
            xy = point(max(min(lat, NORTH), SOUTH), lon, digits=0)
            if xy != last:  # points that round to the same spot add bytes, not detail
                coords.append(f"{xy[0]:g} {xy[1]:g}")
                last = xy
        if len(coords) >= 3:
            parts.append("M" + "L".join(coords) + "Z")
    return "".join(parts)


def draw(
    topology: dict[str, Any], region_of: Callable[[str | None, str], str | None]
) -> tuple[Shape, ...]:
    """Every country of a world-atlas topology as an SVG path.

    ``region_of`` maps a feature's id (an ISO 3166-1 numeric code, or None) and name to the
    network region's value, or None; it is passed in so that this function stays free of
    lookups. Land entirely south of the map's edge (Antarctica) is left out.
    """
    arcs = _arcs(topology)
    shapes = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        kind = geometry.get("type")
        if kind == "Polygon":
            polygons = [geometry["arcs"]]
        elif kind == "MultiPolygon":
            polygons = geometry["arcs"]
        else:
            continue
        rings = [part for p in polygons for r in p for part in _split(_ring(r, arcs))]
        rings = [r for r in rings if any(lat > SOUTH for _, lat in r)]
        if not rings:
            continue
        numeric, name = geometry.get("id"), geometry.get("properties", {}).get("name", "")
        shapes.append(
            Shape(name=name, code=_alpha2(numeric), region=region_of(numeric, name), d=_path(rings))
        )
    return tuple(shapes)


def _alpha2(numeric: str | None) -> str | None:
    if not numeric:
        return None
    country = pycountry.countries.get(numeric=numeric)
    return None if country is None else str(country.alpha_2)


# Natural Earth units without an ISO 3166-1 code, placed where GeoNames puts their neighbours.
_UNCODED = {"Kosovo": Region.EUROPE, "N. Cyprus": Region.EUROPE, "Somaliland": Region.AFRICA}


def _region_of(numeric: str | None, name: str) -> str | None:
    if numeric is None:
        uncoded = _UNCODED.get(name)
        return None if uncoded is None else uncoded.value
    code = _alpha2(numeric)
    region = region_of_country(code) if code else None
    return None if region is None else region.value


@lru_cache(maxsize=1)
def world_map() -> tuple[Shape, ...]:
    """The packaged map, decoded on first use and kept for the life of the process."""
    return draw(json.loads(MAP_FILE.read_text(encoding="utf-8")), _region_of)


@lru_cache(maxsize=1)
def land_document() -> tuple[bytes, str]:
    """The land image and its ETag, built on first use and kept for the process."""
    body = land_svg(world_map()).encode("utf-8")
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def anchors() -> dict[str, Point]:
    return {region.value: point(*latlon) for region, latlon in REGION_ANCHORS.items()}


def land_svg(shapes: Iterable[Shape]) -> str:
    """The land alone, as a standalone SVG document for an ``<image>`` behind the
    directory's dots. It is drawn as an image, so the page's stylesheet cannot reach it:
    colours are presentation attributes (which a strict CSP allows, unlike style
    attributes)."""
    # No <title>s: an SVG drawn as an image shows no tooltips; the bytes would be wasted.
    paths = "".join(f'<path d="{escape(s.d)}"/>' for s in shapes if s.d)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {WIDTH:g} {HEIGHT:g}" width="{WIDTH:g}" height="{HEIGHT:g}">'
        f'<g fill="#d3dbe3" stroke="#ffffff" stroke-width="0.4">{paths}</g></svg>\n'
    )


Box = tuple[float, float, float, float]


def frame(points: Sequence[Point], *, pad: float = 0.15, min_width: float = 160.0) -> Box:
    """The viewBox (x, y, width, height) that shows every point with a margin, in the whole
    map's proportions, never smaller than ``min_width`` units (so a single city is shown in
    its country, not as a blur) and never beyond the map's edges. No points: the world."""
    if not points:
        return 0.0, 0.0, WIDTH, HEIGHT
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    width = max(max(xs) - min(xs), (max(ys) - min(ys)) * WIDTH / HEIGHT) * (1 + 2 * pad)
    width = min(max(width, min_width), WIDTH)
    height = width * HEIGHT / WIDTH
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    x = min(max(cx - width / 2, 0.0), WIDTH - width)
    y = min(max(cy - height / 2, 0.0), HEIGHT - height)
    return round(x, 1), round(y, 1), round(width, 1), round(height, 1)
