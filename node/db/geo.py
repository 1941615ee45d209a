"""Distance in SQL, and the bounding boxes that let an index narrow ``near=`` queries.

The SQL expression is the same haversine formula as ``schemas.geo.haversine_km``, written
with functions that both SQLite (3.35+, math functions) and PostgreSQL provide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Float, bindparam, case, func, literal

from schemas.geo import EARTH_RADIUS_KM

KM_PER_DEGREE = 111.19


def _haversine(lat_col: Any, lon_col: Any, lat: Any, lon: Any, cos_lat: Any) -> Any:
    half_dlat = func.radians(lat_col - lat) / 2
    half_dlon = func.radians(lon_col - lon) / 2
    a = func.power(func.sin(half_dlat), 2) + cos_lat * func.cos(func.radians(lat_col)) * func.power(
        func.sin(half_dlon), 2
    )
    clamped = case((a > 1, 1.0), else_=a)  # float noise must not push asin out of domain
    return 2 * EARTH_RADIUS_KM * func.asin(func.sqrt(clamped))


def distance_sql(lat_col: Any, lon_col: Any, lat: float, lon: float) -> ColumnElement[float]:
    cos_lat = literal(math.cos(math.radians(lat)))
    expr: ColumnElement[float] = _haversine(lat_col, lon_col, literal(lat), literal(lon), cos_lat)
    return expr


def distance_to_point_sql(lat_col: Any, lon_col: Any) -> ColumnElement[float]:
    """``distance_sql`` with the point as bind parameters (``point_params``): one expression,
    built once, serves every point, so a search need not build the formula again."""
    lat, lon = bindparam("near_lat", type_=Float), bindparam("near_lon", type_=Float)
    cos_lat = bindparam("near_cos", type_=Float)
    expr: ColumnElement[float] = _haversine(lat_col, lon_col, lat, lon, cos_lat)
    return expr


def point_params(lat: float, lon: float) -> dict[str, float]:
    """The bind values of ``distance_to_point_sql`` for one point. Pure."""
    return {"near_lat": lat, "near_lon": lon, "near_cos": math.cos(math.radians(lat))}


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
