"""The one check of an RFC 9457 problem answer (``application/problem+json``)."""

from __future__ import annotations

from typing import Any

PROBLEM = "application/problem+json"


def assert_problem(r: Any, status: int | None = None, field: str | None = None) -> dict[str, Any]:
    """An RFC 9457 body with the promised members, whose status matches the response;
    ``status``: the status expected; ``field``: the field the first error names. A 422
    names every field it refuses, with a reason. Returns the body."""
    if status is not None:
        assert r.status_code == status, r.text
    assert r.headers.get("content-type", "").startswith(PROBLEM), (r.status_code, r.text)
    body: dict[str, Any] = r.json()
    assert isinstance(body.get("type"), str) and body["type"].startswith("urn:healthnet:problem:")
    assert isinstance(body.get("title"), str) and body["title"]
    assert isinstance(body.get("detail"), str) and body["detail"]
    assert body.get("status") == r.status_code
    if r.status_code == 422:
        assert body["errors"], body
        for err in body["errors"]:
            assert set(err) == {"field", "reason"} and err["field"] and err["reason"]
    if field is not None:
        assert body["errors"][0]["field"] == field, body
    return body
