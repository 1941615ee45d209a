"""The worldwide view (``/world``) and the nearest-directory chooser (``/nearest``).

Both pages work without JavaScript. With it, ``/world`` refreshes its figures from
``GET /network`` every few seconds, and ``/nearest`` offers "use my location", which asks
the browser for a position only when the person presses the button.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from node.deps import RuntimeDep, SessionDep, TrustDep
from node.dialects import PageRoute
from node.errors import InvalidInput
from node.nearest import rank
from node.network import recent_view
from node.web import places, worldmap
from node.web.pages import render
from node.web.views import query_params, text_param

router = APIRouter(include_in_schema=False, route_class=PageRoute)

REFRESH_SECONDS = 5


def ago(seconds: float | None) -> str:
    """A contact time as people read it; world.js writes the same wording."""
    if seconds is None:
        return "never"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return "just now" if seconds < 2 else f"{int(seconds)} s ago"


@router.get("/world", response_class=HTMLResponse)
def world_page(
    request: Request, session: SessionDep, runtime: RuntimeDep, trust: TrustDep
) -> HTMLResponse:
    view = recent_view(session, runtime=runtime, trust=trust)
    markers = [
        {"node": n, "x": xy[0], "y": xy[1]}
        for n in view.nodes
        if n.latitude is not None and n.longitude is not None
        for xy in [worldmap.point(n.latitude, n.longitude)]
    ]
    return render(
        request,
        "world.html",
        {
            "title": "The network worldwide",
            "view": view,
            "shapes": worldmap.world_map(),
            "width": worldmap.WIDTH,
            "height": worldmap.HEIGHT,
            "anchors": worldmap.anchors(),
            "markers": markers,
            "refresh_ms": REFRESH_SECONDS * 1000,
            "ago": ago,
        },
    )


@router.get("/map/land.svg")
def land_image(request: Request) -> Response:
    """The land behind the directory's dots: the same bytes for every page and every
    search, so browsers and proxies keep it (a day, then revalidated by its ETag)."""
    body, etag = worldmap.land_document()
    headers = {"ETag": etag, "Cache-Control": "public, max-age=86400"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="image/svg+xml", headers=headers)


def _coordinate(params: dict[str, str], name: str, limit: float) -> float | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError as exc:
        raise InvalidInput([(name, "a number of degrees, e.g. 51.84")]) from exc
    if not -limit <= number <= limit:  # also refuses nan and inf
        raise InvalidInput([(name, f"between -{limit:g} and {limit:g} degrees")])
    return number


@router.get("/nearest", response_class=HTMLResponse)
def nearest_page(request: Request, runtime: RuntimeDep, trust: TrustDep) -> HTMLResponse:
    """Choose the nearest directory: from a city typed in, or from coordinates (which the
    "use my location" button fills in, with the person's consent)."""
    params = query_params(request)
    context: dict[str, Any] = {"title": "Find your nearest directory", "params": params}
    city = text_param(params, "city", 100)
    place = text_param(params, "place", 200)
    lat, lon = _coordinate(params, "lat", 90), _coordinate(params, "lon", 180)
    if (lat is None) != (lon is None):
        raise InvalidInput([("lat" if lat is None else "lon", "give both lat and lon")])
    origin = None
    if lat is not None and lon is not None:
        origin = place or f"{lat:.4f}, {lon:.4f}"
    elif city:
        matches = places.find(city)
        context["matches"] = matches[1:]
        if not matches:
            context["not_found"] = city
        else:
            best = matches[0]
            lat, lon, origin = best.latitude, best.longitude, best.label
    if origin is not None and lat is not None and lon is not None:
        roster = trust.current
        me = runtime.settings.node_id
        ranked = rank(roster.nodes.values(), me=me, lat=lat, lon=lon) if roster else []
        context["origin"] = origin
        context["ranked"] = ranked
        # Only a node with a known location can be called the nearest.
        context["nearest"] = ranked[0] if ranked and ranked[0].distance_km is not None else None
    return render(request, "nearest.html", context)
