"""Security headers and the offline API docs (node/web/headers.py, node/web/apidocs.py).

The browser tests check that the shipped pages keep to the policy in a real browser; these
check that every kind of response carries it and that /docs names nothing off the node.
"""

from __future__ import annotations

import re

import pytest
from support.nodes import Node

from node.web.headers import POLICY

PATHS = ["/", "/world", "/docs", "/openapi.json", "/members", "/healthz", "/no/such/path"]


@pytest.mark.parametrize("path", PATHS)
def test_every_response_carries_the_strict_policy(sqlite_node: Node, path: str) -> None:
    r = sqlite_node.client.get(path)
    assert r.headers["content-security-policy"] == POLICY
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin"


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
