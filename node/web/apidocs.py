"""Interactive API documentation, served entirely by the node.

FastAPI's default ``/docs`` loads Swagger UI from a CDN and starts it with an inline
script: blank offline, and refused by the node's Content-Security-Policy. Here the assets
come from the ``fastapi-offline`` package (Swagger UI 5, which reads OpenAPI 3.1),
mounted under ``/static/apidocs``, and a small shipped script (``docs.js``) starts it from
a ``data-`` attribute, so no inline script is needed. ReDoc, which the package also ships,
is not offered: it injects ``<style>`` elements, which the policy (rightly) refuses.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

ASSETS = Path(str(files("fastapi_offline") / "static"))
HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def swagger(request: Request) -> HTMLResponse:
    app = request.app
    return templates.TemplateResponse(
        request, "apidocs.html", {"title": app.title, "openapi_url": app.openapi_url}
    )


def mount(app: FastAPI) -> None:
    """Add the page and its assets. ``create_app`` builds the app with
    ``docs_url=None, redoc_url=None`` so FastAPI's CDN pages are not registered."""
    app.include_router(router)
    app.mount("/static/apidocs", StaticFiles(directory=ASSETS), name="apidocs")
