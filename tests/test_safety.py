"""Failure behaviour: every error is an RFC 9457 problem naming the field at fault, bodies are
size-limited, a failed write leaves nothing behind, and the signing key stays private."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import stat
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import event, func, select, text
from support.clock import Clock
from support.databases import BACKENDS
from support.factories import event_body, member_body
from support.nodes import Node, make_node
from support.problems import PROBLEM, assert_problem

from federation.canonical import b64url
from node.db.tables import ENTRIES, RECORDS, SEQUENCES, TAGS, AuditEntry
from node.errors import ConfigError
from node.home import load_key

RID = "0b9e6c1e-8a1c-4d8e-9d33-6c1a2b3c4d5e"  # a well-formed id that no record has


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


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """One SQLite node for the tests below, which only send requests that must be refused:
    each checks that nothing was written, so they cannot affect one another."""
    tmp = tmp_path_factory.mktemp("safety")
    clock = Clock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    n = make_node(
        tmp / "home",
        f"sqlite:///{tmp / 'node.db'}",
        clock,
        write_rate_per_minute=10**6,
        auth_failures_per_minute=10**6,
    )
    yield n
    n.client.close()
    n.engine.dispose()


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


# Inputs that the schema accepts but the database cannot hold: each must be answered as a
# client error (or served), never as a 500.


def big_integer_requests(node: Node, value: int) -> list[tuple[str, dict[str, Any]]]:
    origin = node.client.get("/node").json()["node_id"]
    return [
        ("/admin/audit", {"after": value}),
        ("/federation/records", {"origin": origin, "after": value}),
        ("/federation/digest", {"origin": origin, "to": value}),
        ("/federation/digest", {"origin": origin}),  # "to" defaults to 2**53 - 1
    ]


def server_errors(node: Node, requests: list[tuple[str, dict[str, Any]]]) -> list[str]:
    failed = []
    for path, params in requests:
        r = node.client.get(path, params=params, headers=node.admin)
        if r.status_code >= 500:
            failed.append(f"{path} {params}: {r.status_code}")
    return failed


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_counters_up_to_2_53_are_not_server_errors(node: Node) -> None:
    node.client.post("/admin/members", json=member_body(), headers=node.editor)
    requests = [*big_integer_requests(node, 2**31), *big_integer_requests(node, 2**53 - 1)]
    assert server_errors(node, requests) == []


def test_integers_beyond_64_bits_are_not_server_errors(shared: Node) -> None:
    requests = big_integer_requests(shared, 2**63)[:3]
    assert server_errors(shared, requests) == []


NUL_REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/admin/members", {"json": member_body(name="Radboud\x00UMC")}),
    ("POST", "/admin/members", {"json": member_body(description="a\x00b")}),
    ("POST", "/admin/events", {"json": event_body(organizer="a\x00b")}),
    ("GET", "/members", {"params": {"topic": "a\x00b"}}),
    ("GET", "/members", {"params": {"language": "a\x00b"}}),
    ("GET", "/events", {"params": {"organizer": "a\x00b"}}),
]


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_nul_characters_are_not_a_server_error(node: Node) -> None:
    failed = []
    for method, path, kwargs in NUL_REQUESTS:
        r = node.client.request(method, path, headers=node.editor, **kwargs)
        if r.status_code >= 500:
            failed.append((method, path, kwargs))
    assert failed == []


# --- body size limits ------------------------------------------------------------------------

LIMIT = 2048


@pytest.fixture
def small_node(tmp_path: Path, clock: Clock) -> Iterator[Node]:
    n = make_node(
        tmp_path / "home", f"sqlite:///{tmp_path / 'node.db'}", clock, max_body_bytes=LIMIT
    )
    yield n
    n.client.close()
    n.engine.dispose()


def big_member() -> bytes:
    data = json.dumps(member_body(description="x" * 4000)).encode()
    assert len(data) > LIMIT
    return data


def chunks(data: bytes, size: int = 256) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def asgi_post(
    app: Any, path: str, headers: list[tuple[bytes, bytes]], parts: list[bytes]
) -> tuple[int, dict[str, str], bytes, int]:
    """Drive the ASGI app by hand, sending ``parts`` as separate body messages. Returns
    status, headers, body, and how many parts the app asked for."""
    sent = 0
    out: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent < len(parts):
            sent += 1
            return {"type": "http.request", "body": parts[sent - 1], "more_body": sent < len(parts)}
        await asyncio.sleep(0)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
            out["headers"] = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    return out["status"], out["headers"], out["body"], sent


def auth_headers(node: Node) -> list[tuple[bytes, bytes]]:
    return [
        (b"host", b"testserver"),
        (b"content-type", b"application/json"),
        (b"authorization", node.editor["Authorization"].encode()),
    ]


def test_a_body_within_the_limit_is_accepted(small_node: Node) -> None:
    data = json.dumps(member_body(description="x" * 1000)).encode()
    assert len(data) < LIMIT
    r = small_node.client.post(
        "/admin/members",
        content=data,
        headers={**small_node.editor, "Content-Type": "application/json"},
    )
    assert r.status_code == 201, r.text


def test_a_declared_oversized_body_is_413(small_node: Node) -> None:
    r = small_node.client.post(
        "/admin/members",
        content=big_member(),
        headers={**small_node.editor, "Content-Type": "application/json"},
    )
    assert "content-length" in {k.lower() for k in r.request.headers}
    assert_problem(r, 413)
    assert small_node.client.get("/node").json()["last_seq"] == 0


def test_a_chunked_oversized_body_is_413(small_node: Node) -> None:
    # TestClient sends a generator body with Transfer-Encoding: chunked and no Content-Length
    # (it hands the app the body as one message, so this checks the count, not streaming).
    def gen() -> Iterator[bytes]:
        yield from chunks(big_member())

    r = small_node.client.post(
        "/admin/members",
        content=gen(),
        headers={**small_node.editor, "Content-Type": "application/json"},
    )
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert r.request.headers["transfer-encoding"] == "chunked"
    assert_problem(r, 413)
    assert small_node.client.get("/node").json()["last_seq"] == 0


def test_a_streamed_oversized_body_is_refused_while_it_streams(small_node: Node) -> None:
    # httpx's ASGI transport passes an async body on chunk by chunk, as a server would.
    pulled = 0
    total = chunks(json.dumps(member_body(description="x" * 200_000)).encode())

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        for part in total:
            pulled += 1
            yield part

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=small_node.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as ac:
            return await ac.post(
                "/admin/members",
                content=body(),
                headers={**small_node.editor, "Content-Type": "application/json"},
            )

    r = asyncio.run(go())
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert_problem(r, 413)
    assert pulled <= LIMIT // 256 + 2 < len(total)  # it stopped reading at the limit
    assert small_node.client.get("/node").json()["last_seq"] == 0


def test_an_understated_content_length_is_caught_by_counting(small_node: Node) -> None:
    data = big_member()
    headers = [*auth_headers(small_node), (b"content-length", b"100")]
    status, resp_headers, body, pulled = asgi_post(
        small_node.app, "/admin/members", headers, chunks(data)
    )
    assert status == 413
    assert resp_headers["content-type"].startswith(PROBLEM)
    assert json.loads(body)["status"] == 413
    assert pulled < len(chunks(data))
    assert small_node.client.get("/node").json()["last_seq"] == 0


@pytest.mark.parametrize("value", [b"abc", b"-1", b"1e3"])
def test_an_invalid_content_length_is_400(small_node: Node, value: bytes) -> None:
    headers = [*auth_headers(small_node), (b"content-length", value)]
    status, resp_headers, body, _ = asgi_post(
        small_node.app, "/admin/members", headers, [json.dumps(member_body()).encode()]
    )
    assert status == 400
    assert resp_headers["content-type"].startswith(PROBLEM)
    assert json.loads(body)["status"] == 400


def test_both_413_paths_use_the_same_problem_type(small_node: Node) -> None:
    headers = {**small_node.editor, "Content-Type": "application/json"}
    declared = small_node.client.post("/admin/members", content=big_member(), headers=headers)
    streamed = small_node.client.post(
        "/admin/members", content=iter(chunks(big_member())), headers=headers
    )
    assert declared.status_code == streamed.status_code == 413
    assert declared.json()["type"] == streamed.json()["type"]


# --- nothing half-written --------------------------------------------------------------------


class Sabotage:
    """Make every statement that starts with ``prefix`` fail, after earlier statements of the
    same transaction have already run."""

    def __init__(self, engine: Any, prefix: str) -> None:
        self.engine = engine
        self.prefix = prefix
        self.fired = 0

    def _hook(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(self.prefix):
            self.fired += 1
            raise RuntimeError("injected failure")

    def __enter__(self) -> Sabotage:
        event.listen(self.engine, "before_cursor_execute", self._hook)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._hook)


def counts(node: Node) -> dict[str, Any]:
    with node.engine.connect() as conn:

        def n(table: Any) -> int:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

        return {
            "records": n(RECORDS),
            "entries": n(ENTRIES),
            "tags": n(TAGS),
            "audit": n(AuditEntry.__table__),  # type: ignore[attr-defined]
            "last_seq": conn.execute(select(SEQUENCES.c.last_seq)).scalar_one(),
            "record_ids": sorted(r[0] for r in conn.execute(select(RECORDS.c.record_id))),
            "current": sorted(
                (r[0], r[1])
                for r in conn.execute(
                    select(RECORDS.c.record_id, RECORDS.c.version).where(
                        RECORDS.c.current.is_(True)
                    )
                )
            ),
        }


def test_a_write_failing_midway_leaves_nothing_behind(node: Node) -> None:
    c = node.client
    first = c.post("/admin/members", json=member_body(), headers=node.editor).json()["id"]
    before = counts(node)
    assert before["last_seq"] == 1 and before["tags"] > 0

    body = member_body(name="Zyxwvut Clinic", city="Tilburg", latitude=51.56, longitude=5.09)
    with Sabotage(node.engine, "INSERT INTO ENTRY_TAGS") as sabotage:
        r = c.post("/admin/members", json=body, headers=node.editor)
    assert sabotage.fired == 1  # the failure struck after records and entries were written
    assert r.status_code == 500
    problem = assert_problem(r, 500)
    assert "injected" not in r.text and "Traceback" not in problem["detail"]

    after = counts(node)
    assert after == before
    assert after["record_ids"] == [first]  # no row in records for the failed id
    assert c.get("/node").json()["last_seq"] == 1
    assert c.get("/members", params={"q": "zyxwvut", "count": True}).json()["total"] == 0
    assert c.get("/members", params={"count": True}).json()["total"] == 1

    r = c.post("/admin/members", json=body, headers=node.editor)
    assert r.status_code == 201, r.text
    assert r.json()["seq"] == 2  # no gap
    assert c.get("/members", params={"q": "zyxwvut"}).json()["items"][0]["id"] == r.json()["id"]


def test_an_update_failing_midway_keeps_the_old_version(node: Node) -> None:
    c = node.client
    mid = c.post("/admin/members", json=member_body(), headers=node.editor).json()["id"]
    before = counts(node)

    with Sabotage(node.engine, "INSERT INTO ENTRY_TAGS") as sabotage:
        r = c.put(
            f"/admin/members/{mid}",
            json=member_body(city="Arnhem", topics=["telehealth"]),
            headers={**node.editor, "If-Match": '"1"'},
        )
    assert sabotage.fired == 1
    assert_problem(r, 500)
    assert counts(node) == before
    got = c.get(f"/members/{mid}").json()
    assert got["city"] == "Nijmegen" and got["version"] == 1
    assert c.get("/members", params={"topic": "innovation", "count": True}).json()["total"] == 1
    assert c.get("/members", params={"topic": "telehealth", "count": True}).json()["total"] == 0
    assert c.get(f"/records/{mid}").json()["record"]["version"] == 1

    r = c.put(
        f"/admin/members/{mid}",
        json=member_body(city="Arnhem"),
        headers={**node.editor, "If-Match": '"1"'},
    )
    assert r.status_code == 200 and (r.json()["version"], r.json()["seq"]) == (2, 2)


def test_a_delete_failing_midway_keeps_the_member(node: Node) -> None:
    c = node.client
    mid = c.post("/admin/members", json=member_body(), headers=node.editor).json()["id"]
    before = counts(node)
    with Sabotage(node.engine, "DELETE FROM ENTRIES") as sabotage:
        r = c.delete(f"/admin/members/{mid}", headers=node.editor)
    assert sabotage.fired == 1
    assert_problem(r, 500)
    assert counts(node) == before
    assert c.get(f"/members/{mid}").status_code == 200
    assert c.get(f"/records/{mid}").json()["record"]["deleted"] is False
    r = c.delete(f"/admin/members/{mid}", headers=node.editor)
    assert r.status_code == 200 and r.json()["seq"] == 2


# --- the signing key -------------------------------------------------------------------------


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_file_is_private(sqlite_node: Node) -> None:
    path = sqlite_node.settings.key_path
    assert path.is_file()
    assert mode_of(path) == 0o600
    assert mode_of(path.parent) == 0o700
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o700])
def test_loading_a_key_others_can_read_is_refused(sqlite_node: Node, mode: int) -> None:
    settings = sqlite_node.settings
    assert load_key(settings).public_b64 == sqlite_node.app.state.runtime.key.public_b64
    os.chmod(settings.key_path, mode)
    if mode & 0o077:
        with pytest.raises(ConfigError, match="chmod 600"):
            load_key(settings)
    else:  # owner-only (even with x) is fine
        assert load_key(settings).public_b64 == sqlite_node.app.state.runtime.key.public_b64


def test_a_missing_key_is_a_config_error(sqlite_node: Node) -> None:
    sqlite_node.settings.key_path.unlink()
    with pytest.raises(ConfigError, match="missing"):
        load_key(sqlite_node.settings)


def private_forms(node: Node) -> dict[str, str]:
    """Every textual form the private key could leak in."""
    pem = node.settings.key_path.read_text()
    raw = node.app.state.runtime.key.private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    assert len(raw) == 32
    der_b64 = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    return {
        "pem": pem.strip(),
        "pem-body": der_b64,
        "raw-b64url": b64url(raw),
        "raw-b64": base64.b64encode(raw).decode(),
        "raw-hex": raw.hex(),
    }


def test_the_private_key_never_appears_in_a_response(sqlite_node: Node) -> None:
    c = sqlite_node.client
    created = c.post("/admin/members", json=member_body(), headers=sqlite_node.editor).json()
    mid = created["id"]
    c.post("/admin/members", json=member_body(), headers={"Authorization": "Bearer bad"})
    responses: dict[str, str] = {"write": json.dumps(created)}
    for path, headers in [
        ("/node", {}),
        ("/openapi.json", {}),
        ("/docs", {}),
        ("/healthz", {}),
        (f"/records/{mid}", {}),
        (f"/members/{mid}", {}),
        ("/members", {}),
        ("/events", {}),
        ("/admin/audit", sqlite_node.admin),
        (f"/records/{RID}", {}),
    ]:
        r = c.get(path, headers=headers)
        assert r.status_code in (200, 404), (path, r.status_code)
        responses[path] = r.text + json.dumps(dict(r.headers))

    forms = private_forms(sqlite_node)
    for where, body in responses.items():
        for name, secret in forms.items():
            assert secret not in body, f"{name} of the private key leaked in {where}"
    # Control: the scan would find a key that is there, e.g. the public one.
    assert sqlite_node.app.state.runtime.key.public_b64 in responses["/node"]
    assert forms["raw-b64url"] not in repr(sqlite_node.app.state.runtime.key)


def test_the_private_key_is_not_in_the_database(sqlite_node: Node) -> None:
    sqlite_node.client.post("/admin/members", json=member_body(), headers=sqlite_node.editor)
    forms = private_forms(sqlite_node)
    with sqlite_node.engine.connect() as conn:
        tables = [
            r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
        ]
        dump = ""
        for table in tables:
            dump += repr(conn.execute(text(f'SELECT * FROM "{table}"')).all())
    assert "records" in tables and len(dump) > 100
    for name, secret in forms.items():
        assert secret not in dump, name
