"""Which dialect an error on a request is written in: the FHIR view's OperationOutcome,
the HTML error page, or an RFC 9457 problem (node/problems.py writes all three).

It is decided from the request alone, so that a handler never chooses how its own
errors look, and a browser that asks for a page that does not exist gets a page.
"""

from __future__ import annotations

from typing import Literal

from fastapi import Request
from fastapi.routing import APIRoute

PROBLEM_MEDIA_TYPE = "application/problem+json"


class PageRoute(APIRoute):
    """A route of the HTML pages: its errors are answered as the HTML error page. The
    page routers are made with ``APIRouter(route_class=PageRoute)``."""


Dialect = Literal["problem", "fhir", "html"]


def dialect(request: Request) -> Dialect:
    """How an error on this request is written; the only place that decides it.

    A method a page route does not take (a 405) is no page visit and is answered as a
    problem, as it always was. A request no route of ours took (an unknown path, a file
    missing under ``/static``) is negotiated: a browser's ``Accept`` gets the HTML page,
    anything else the problem.
    """
    path = request.url.path
    if path == "/fhir" or path.startswith("/fhir/"):
        return "fhir"
    route = request.scope.get("route")
    if isinstance(route, PageRoute) and request.method in (route.methods or ()):
        return "html"
    if negotiated(request) and prefers_html(request.headers.get("accept", "")):
        return "html"
    return "problem"


def negotiated(request: Request) -> bool:
    """Whether the answer depends on ``Accept`` (no route of ours took the request)."""
    # A mount (``/static``) is no route of ours: FastAPI does not even name it in the scope.
    return not isinstance(request.scope.get("route"), APIRoute)


def prefers_html(accept: str) -> bool:
    """Whether an ``Accept`` header ranks ``text/html`` above JSON (RFC 9110 12.5.1: the
    most specific range matching a type gives its weight). A browser's does (``text/html``
    first, ``*/*;q=0.8``); curl's and httpx's (``*/*``) and an API client's do not."""
    ranges: list[tuple[str, float]] = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranges.append((media.lower(), q))

    def weight(media: str) -> float:
        kind = media.split("/")[0]
        for candidate in (media, f"{kind}/*", "*/*"):
            found = [q for m, q in ranges if m == candidate]
            if found:
                return max(found)
        return 0.0

    html = weight("text/html")
    return html > 0 and html > max(weight("application/json"), weight(PROBLEM_MEDIA_TYPE))
