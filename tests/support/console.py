"""Driving the console over HTTP as a browser would: sign in, read a form's CSRF token,
post forms."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from httpx import Response

from .nodes import Node

_CSRF = re.compile(r'<input type="hidden" name="csrf" value="([^"]*)">')


def csrf_of(page: str) -> str:
    match = _CSRF.search(page)
    assert match is not None, "the page has no form with a CSRF token"
    return html.unescape(match.group(1))


def token_of(node: Node, role: str) -> str:
    headers = node.admin if role == "admin" else node.editor
    return headers["Authorization"].removeprefix("Bearer ")


def sign_in(node: Node, role: str = "editor", client: TestClient | None = None) -> TestClient:
    """A client of ``node`` signed in to the console with its ``role`` token."""
    c = client or TestClient(node.app, raise_server_exceptions=False)
    form = c.get("/admin/sign-in")
    assert form.status_code == 200, form.text
    r = c.post(
        "/admin/sign-in",
        data={"csrf": csrf_of(form.text), "token": token_of(node, role), "next": "/admin"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return c


def post_form(c: TestClient, page_url: str, action: str, data: dict[str, object]) -> Response:
    """Open ``page_url``, then post ``data`` to ``action`` with that page's CSRF token."""
    page = c.get(page_url)
    assert page.status_code == 200, page.text
    return c.post(action, data={"csrf": csrf_of(page.text), **data}, follow_redirects=False)


def field_error(page: str, name: str) -> str | None:
    """The error shown beside field ``name``, or None."""
    match = re.search(rf'<p class="field-error" id="e-{name}">([^<]*)</p>', page)
    return html.unescape(match.group(1)) if match else None


MEMBER_FORM = {
    "name": "Sint Maartenskliniek",
    "kind": "hospital",
    "network_role": "member",
    "country": "NL",
    "city": "Nijmegen",
    "latitude": "51.82",
    "longitude": "5.83",
    "website": "https://www.maartenskliniek.nl",
    "topics": "orthopaedics; patient engagement",
    "languages": ["nl", "en"],
    "social": "x:@maartenskliniek\nlinkedin:https://www.linkedin.com/company/sint-maartenskliniek",
    "contact_email": "info@maartenskliniek.nl",
    "description": "A hospital for posture and movement.",
}
