"""Rendering a console page: the public pages' layout plus who is signed in."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from node.deps import get_runtime
from node.signins import SignedIn
from node.web.labels import label
from node.web.pages import render, templates

# A picker's options are (value, words) pairs.
templates.env.filters["label_pair"] = lambda value: (value, label(value))
templates.env.filters["pair"] = lambda value: (value, value)


def show(
    request: Request,
    who: SignedIn | None,
    name: str,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> HTMLResponse:
    hub = get_runtime(request).settings.hub
    base = {"who": who, "csrf": who.csrf if who is not None else "", "is_hub": hub}
    response = render(request, f"console/{name}", {**base, **context}, status=status)
    # A console page shows what only its reader may see: no cache keeps a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


def go(path: str) -> RedirectResponse:
    """After a form: 303, so a reload does not post it again."""
    return RedirectResponse(path, status_code=303)
