"""Security headers and the offline API docs (node/web/headers.py, node/web/apidocs.py).

The browser tests check that the shipped pages keep to the policy in a real browser; these
check that every kind of response carries it and that /docs names nothing off the node.
"""

from __future__ import annotations

import re

import pytest
from support.nodes import Node

from node.web.headers import DATA_POLICY, POLICY, headers_for

PAGES = ["/", "/world", "/docs", "/n"]
DATA = ["/openapi.json", "/members", "/healthz", "/federation/heads", "/events.ics"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_the_strict_policy(sqlite_node: Node, path: str) -> None:
    r = sqlite_node.client.get(path)
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-security-policy"] == POLICY
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["cross-origin-opener-policy"] == "same-origin"


@pytest.mark.parametrize("path", DATA)
def test_data_carries_the_api_policy_only(sqlite_node: Node, path: str) -> None:
    """JSON and calendars run nothing and frame nothing even if a browser renders them;
    the page-only headers are left off (they were half of a one-record sync round)."""
    r = sqlite_node.client.get(path)
    assert r.status_code == 200, path
    assert r.headers["content-security-policy"] == DATA_POLICY
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "x-frame-options" not in r.headers and "referrer-policy" not in r.headers


@pytest.mark.parametrize(
    ("accept", "policy"), [("application/json", DATA_POLICY), ("text/html", POLICY)]
)
def test_an_error_gets_the_policy_of_what_it_is(
    sqlite_node: Node, accept: str, policy: str
) -> None:
    r = sqlite_node.client.get("/no/such/path", headers={"Accept": accept})
    assert r.status_code == 404
    assert r.headers["content-security-policy"] == policy


@pytest.mark.parametrize(
    ("content_type", "whole"),
    [
        (None, True),
        (b"text/html; charset=utf-8", True),
        (b"TEXT/HTML", True),
        (b"image/svg+xml", True),
        (b"application/xhtml+xml", True),
        (b"application/json", False),
        (b"application/problem+json", False),
        (b"text/calendar; charset=utf-8", False),
        (b"text/javascript; charset=utf-8", False),
        (b"image/png", False),
    ],
)
def test_headers_for_a_content_type(content_type: bytes | None, whole: bool) -> None:
    policy = dict(headers_for(content_type))[b"content-security-policy"].decode()
    assert policy == (POLICY if whole else DATA_POLICY)


def test_the_policy_allows_only_this_origin() -> None:
    directives = dict(d.split(" ", 1) for d in POLICY.split("; "))
    assert directives["script-src"] == "'self'"  # no inline script, no eval
    assert directives["style-src"] == "'self'"  # no inline style
    assert directives["frame-ancestors"] == "'none'"
    assert "*" not in POLICY and "http" not in POLICY and "unsafe" not in POLICY


def test_docs_load_only_assets_the_node_serves(sqlite_node: Node) -> None:
    c = sqlite_node.client
    page = c.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script>" not in page.text  # every script is a file, as the policy requires
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(u.startswith("/") for u in urls), urls
    for url in urls:
        asset = c.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 0
    assert 'data-openapi-url="/openapi.json"' in page.text
    assert c.get("/openapi.json").json()["openapi"].startswith("3.1")
    # FastAPI's CDN-backed pages are not registered.
    assert c.get("/redoc").status_code == 404
