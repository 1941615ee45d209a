"""Failure behaviour: every bad request, malformed body or wrong content type is answered
with an RFC 9457 problem naming the field at fault, and writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import safety_nodes
from support.factories import event_body, member_body
from support.nodes import Node
from support.problems import assert_problem
from support.safety_nodes import RID


def without(key: str, body: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in body.items() if k != key}


# --- a table of bad requests -----------------------------------------------------------------

# (id, method, path, request kwargs, token, status, field named in errors[] for a 422)
BAD_REQUESTS: list[Any] = [
    # member bodies
    (
        "empty-name",
        "POST",
        "/admin/members",
        {"json": member_body(name="  ")},
        "editor",
        422,
        "body.name",
    ),
    (
        "missing-name",
        "POST",
        "/admin/members",
        {"json": without("name", member_body())},
        "editor",
        422,
        "body.name",
    ),
    (
        "long-name",
        "POST",
        "/admin/members",
        {"json": member_body(name="x" * 201)},
        "editor",
        422,
        "body.name",
    ),
    (
        "latitude-range",
        "POST",
        "/admin/members",
        {"json": member_body(latitude=91)},
        "editor",
        422,
        "body.latitude",
    ),
    (
        "latitude-text",
        "POST",
        "/admin/members",
        {"json": member_body(latitude="51.8")},
        "editor",
        422,
        "body.latitude",
    ),
    (
        "latitude-alone",
        "POST",
        "/admin/members",
        {"json": without("longitude", member_body())},
        "editor",
        422,
        "body.longitude",
    ),
    (
        "country-code",
        "POST",
        "/admin/members",
        {"json": member_body(country="XX")},
        "editor",
        422,
        "body.country",
    ),
    (
        "kind",
        "POST",
        "/admin/members",
        {"json": member_body(kind="spaceship")},
        "editor",
        422,
        "body.kind",
    ),
    (
        "region",
        "POST",
        "/admin/members",
        {"json": member_body(region="antarctica")},
        "editor",
        422,
        "body.region",
    ),
    (
        "website",
        "POST",
        "/admin/members",
        {"json": member_body(website="ftp://x.org")},
        "editor",
        422,
        "body.website",
    ),
    (
        "topic",
        "POST",
        "/admin/members",
        {"json": member_body(topics=["ok", "!!"])},
        "editor",
        422,
        "body.topics.1",
    ),
    (
        "language",
        "POST",
        "/admin/members",
        {"json": member_body(languages=["not a tag"])},
        "editor",
        422,
        "body.languages.0",
    ),
    (
        "social",
        "POST",
        "/admin/members",
        {"json": member_body(social=[{"platform": "x"}])},
        "editor",
        422,
        "body.social.0",
    ),
    (
        "extra-field",
        "POST",
        "/admin/members",
        {"json": member_body(colour="blue")},
        "editor",
        422,
        "body.colour",
    ),
    (
        "joined",
        "POST",
        "/admin/members",
        {"json": member_body(joined="2026-02-30")},
        "editor",
        422,
        "body.joined",
    ),
    (
        "email",
        "POST",
        "/admin/members",
        {"json": member_body(contact={"email": "nope"})},
        "editor",
        422,
        "body.contact.email",
    ),
    (
        "put-body",
        "PUT",
        f"/admin/members/{RID}",
        {"json": member_body(latitude=-91)},
        "editor",
        422,
        "body.latitude",
    ),
    # event bodies
    ("title", "POST", "/admin/events", {"json": event_body(title="")}, "editor", 422, "body.title"),
    (
        "timezone",
        "POST",
        "/admin/events",
        {"json": event_body(timezone="Mars/Olympus")},
        "editor",
        422,
        "body.timezone",
    ),
    (
        "ends-before-start",
        "POST",
        "/admin/events",
        {"json": event_body(ends_at="2027-03-10T08:00")},
        "editor",
        422,
        "body.ends_at",
    ),
    (
        "offset-in-start",
        "POST",
        "/admin/events",
        {"json": event_body(starts_at="2027-03-10T09:00+01:00")},
        "editor",
        422,
        "body.starts_at",
    ),
    (
        "skipped-wall-time",
        "POST",
        "/admin/events",
        {"json": event_body(starts_at="2027-03-28T02:30")},
        "editor",
        422,
        "body.starts_at",
    ),
    (
        "nowhere",
        "POST",
        "/admin/events",
        {"json": without("venue", event_body())},
        "editor",
        422,
        "body.venue",
    ),
    (
        "venue-latitude",
        "POST",
        "/admin/events",
        {
            "json": event_body(
                venue={"city": "Nijmegen", "country": "NL", "latitude": 200, "longitude": 5.8}
            )
        },
        "editor",
        422,
        "body.venue.latitude",
    ),
    # query parameters
    ("limit-0", "GET", "/members", {"params": {"limit": 0}}, None, 422, "query.limit"),
    ("limit-huge", "GET", "/members", {"params": {"limit": 1001}}, None, 422, "query.limit"),
    (
        "limit-over-page-size",
        "GET",
        "/members",
        {"params": {"limit": 201}},
        None,
        422,
        "query.limit",
    ),
    ("limit-text", "GET", "/events", {"params": {"limit": "ten"}}, None, 422, "query.limit"),
    ("near", "GET", "/members", {"params": {"near": "here"}}, None, 422, "query.near"),
    ("near-range", "GET", "/members", {"params": {"near": "91,0"}}, None, 422, "query.near"),
    (
        "within",
        "GET",
        "/members",
        {"params": {"near": "51,5", "within_km": 0}},
        None,
        422,
        "query.within_km",
    ),
    (
        "country-param",
        "GET",
        "/members",
        {"params": {"country": "NLD"}},
        None,
        422,
        "query.country",
    ),
    ("kind-param", "GET", "/members", {"params": {"kind": "bogus"}}, None, 422, "query.kind"),
    ("region-param", "GET", "/events", {"params": {"region": "mars"}}, None, 422, "query.region"),
    ("q-long", "GET", "/members", {"params": {"q": "x" * 201}}, None, 422, "query.q"),
    ("count", "GET", "/members", {"params": {"count": "maybe"}}, None, 422, "query.count"),
    ("from", "GET", "/events", {"params": {"from": "yesterday"}}, None, 422, "query.from"),
    ("to", "GET", "/events", {"params": {"to": "31-12-2027"}}, None, 422, "query.to"),
    pytest.param(
        "cursor",
        "GET",
        "/members",
        {"params": {"cursor": "not-a-cursor"}},
        None,
        422,
        "query.cursor",
        id="cursor",
    ),
    ("audit-after", "GET", "/admin/audit", {"params": {"after": -1}}, "admin", 422, "query.after"),
    ("audit-limit", "GET", "/admin/audit", {"params": {"limit": 501}}, "admin", 422, "query.limit"),
    # path parameters and headers
    ("member-id", "GET", "/members/not-a-uuid", {}, None, 422, "path.member_id"),
    ("event-id", "GET", f"/events/{RID.upper()}", {}, None, 422, "path.event_id"),
    ("record-id", "GET", "/records/zzz", {}, None, 422, "path.record_id"),
    (
        "if-match",
        "PUT",
        f"/admin/members/{RID}",
        {"json": member_body(), "headers": {"If-Match": "yesterday"}},
        "editor",
        422,
        "header.if-match",
    ),
    # not found, wrong method, no or weak credentials
    ("unknown-route", "GET", "/nope", {}, None, 404, None),
    ("unknown-admin-route", "POST", "/admin/nope", {"json": {}}, "admin", 404, None),
    ("no-member", "GET", f"/members/{RID}", {}, None, 404, None),
    ("no-event", "GET", f"/events/{RID}", {}, None, 404, None),
    ("no-record", "GET", f"/records/{RID}", {}, None, 404, None),
    ("delete-missing", "DELETE", f"/admin/members/{RID}", {}, "editor", 404, None),
    ("delete-collection", "DELETE", "/members", {}, None, 405, None),
    ("patch", "PATCH", f"/admin/members/{RID}", {"json": {}}, "editor", 405, None),
    ("post-node", "POST", "/node", {"json": {}}, None, 405, None),
    ("no-token", "POST", "/admin/members", {"json": member_body()}, None, 401, None),
    ("editor-audit", "GET", "/admin/audit", {}, "editor", 403, None),
]


# The module's node for requests that must be refused (see support.safety_nodes).
shared = safety_nodes.shared


def _ids(case: Any) -> str:
    return str(case[0]) if isinstance(case, tuple) else ""


@pytest.mark.parametrize(
    ("name", "method", "path", "kwargs", "token", "status", "field"), BAD_REQUESTS, ids=_ids
)
def test_bad_requests_get_problem_responses(
    shared: Node,
    name: str,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    token: str | None,
    status: int,
    field: str | None,
) -> None:
    kwargs = dict(kwargs)
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers.update(getattr(shared, token))
    r = shared.client.request(method, path, headers=headers, **kwargs)
    body = assert_problem(r, status)
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body["errors"]
    if status == 405:
        assert r.headers.get("allow"), "a 405 names the allowed methods"
    if status == 401:
        assert r.headers["www-authenticate"].startswith("Bearer")
    # Nothing was written by any of them.
    assert shared.client.get("/node").json()["last_seq"] == 0


MALFORMED_JSON = [
    b"{",
    b'{"name": "x",}',
    b"{'name': 'single quotes'}",
    b"",
    b"\xff\xfe\xfa\xfb",
    b'{"name": "\xff"}',
    b"[" * 50_000 + b"]" * 50_000,
    b'{"name": NaN, "latitude": Infinity}',
    b"null",
    b'"a string"',
    b"1e999999",
    b'{"name": "\\ud800"}',
]


@pytest.mark.parametrize("payload", MALFORMED_JSON, ids=lambda p: repr(p[:16]))
def test_malformed_json_is_a_client_error(shared: Node, payload: bytes) -> None:
    headers = {**shared.editor, "Content-Type": "application/json"}
    r = shared.client.post("/admin/members", content=payload, headers=headers)
    assert 400 <= r.status_code < 500, r.text
    assert_problem(r)
    r = shared.client.put(f"/admin/members/{RID}", content=payload, headers=headers)
    assert 400 <= r.status_code < 500, r.text
    assert_problem(r)
    assert shared.client.get("/node").json()["last_seq"] == 0


@pytest.mark.parametrize(
    ("content_type", "payload"),
    [
        ("text/plain", json.dumps(member_body()).encode()),
        ("application/x-www-form-urlencoded", b"name=Radboud&kind=clinic"),
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="name"\r\n\r\nRadboud\r\n--xyz--\r\n',
        ),
        ("application/xml", b"<member><name>Radboud</name></member>"),
        ("application/octet-stream", json.dumps(member_body()).encode()),
    ],
)
def test_wrong_content_type_is_a_client_error(
    shared: Node, content_type: str, payload: bytes
) -> None:
    headers = {**shared.editor, "Content-Type": content_type}
    r = shared.client.post("/admin/members", content=payload, headers=headers)
    assert 400 <= r.status_code < 500, r.text
    assert_problem(r)
    assert shared.client.get("/node").json()["last_seq"] == 0
