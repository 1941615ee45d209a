"""Failure behaviour at the limits: inputs the schema accepts but the database cannot hold
(counters up to 2**53 and beyond 64 bits, NUL characters) are never a server error, and
request bodies are size-limited however they are sent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import safety_nodes
from support.clock import Clock
from support.databases import BACKENDS
from support.factories import event_body, member_body
from support.nodes import Node, make_node
from support.problems import PROBLEM, assert_problem

# The module's node for requests that must be refused (see support.safety_nodes).
shared = safety_nodes.shared


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
