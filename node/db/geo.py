"""Distance in SQL, and the bounding boxes that let an index narrow ``near=`` queries.

The SQL expression is the same haversine formula as ``schemas.geo.haversine_km``, written
with functions that both SQLite (3.35+, math functions) and PostgreSQL provide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal

from schemas.geo import EARTH_RADIUS_KM

KM_PER_DEGREE = 111.19


def distance_sql(lat_col: Any, lon_col: Any, lat: float, lon: float) -> ColumnElement[float]:
    half_dlat = func.radians(lat_col - literal(lat)) / 2
    half_dlon = func.radians(lon_col - literal(lon)) / 2
    a = func.power(func.sin(half_dlat), 2) + math.cos(math.radians(lat)) * func.cos(
        func.radians(lat_col)
    ) * func.power(func.sin(half_dlon), 2)
    clamped = case((a > 1, 1.0), else_=a)  # float noise must not push asin out of domain
    return 2 * EARTH_RADIUS_KM * func.asin(func.sqrt(clamped))


@dataclass(frozen=True)
class Box:
    lat_min: float
    lat_max: float
    lon_ranges: tuple[tuple[float, float], ...]  # empty: every longitude


def bounding_box(lat: float, lon: float, radius_km: float) -> Box:
    """A box that contains every point within ``radius_km`` of (lat, lon). Pure.

    Near a pole, or for a radius that spans half the globe, every longitude qualifies; across
    the antimeridian the longitude range splits in two.
    """
    dlat = radius_km / KM_PER_DEGREE
    lat_min, lat_max = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    if lat_min <= -89.0 or lat_max >= 89.0:
        return Box(lat_min, lat_max, ())
    widest = max(abs(lat_min), abs(lat_max))
    dlon = radius_km / (KM_PER_DEGREE * math.cos(math.radians(widest)))
    if dlon >= 180:
        return Box(lat_min, lat_max, ())
    lo, hi = lon - dlon, lon + dlon
    if lo < -180:
        return Box(lat_min, lat_max, ((lo + 360, 180.0), (-180.0, hi)))
    if hi > 180:
        return Box(lat_min, lat_max, ((lo, 180.0), (-180.0, hi - 360)))
    return Box(lat_min, lat_max, ((lo, hi),))
