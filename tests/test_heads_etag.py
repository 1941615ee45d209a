"""Conditional heads (docs/PROTOCOL.md 10.2): a node tags its heads, a peer that sends the
tag back gets a bodiless 304 while they are unchanged, and a pull goes on with the heads
it kept; any change of the heads is a new tag and a full answer."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from support.clock import Clock
from support.factories import member_body
from support.federation_world import create_member, peer_entry, quiet, run, three
from support.nodes import Node

from federation.errors import PeerBadResponse
from node.etags import etag_of, not_modified, usable
from node.sync.client import PeerClient, SeenHeads
from schemas.sync import Heads

# --- the tags, pure -------------------------------------------------------------------------


def test_a_tag_names_exactly_its_bytes() -> None:
    tag = etag_of(b'{"node":"a"}')
    assert tag == etag_of(b'{"node":"a"}') != etag_of(b'{"node":"b"}')
    assert tag.startswith('"') and tag.endswith('"') and len(tag) == 18
    assert usable(tag) == tag


@pytest.mark.parametrize(
    ("field", "matches"),
    [
        (None, False),
        ("", False),
        ("*", True),
        ('"{t}"', True),
        ('W/"{t}"', True),  # If-None-Match compares weakly
        ('"other", "{t}"', True),
        ('"other"', False),
        ("{t}", False),  # not quoted: not that tag
        ('"{t}x"', False),
    ],
)
def test_if_none_match_is_compared_as_rfc_9110_says(field: str | None, matches: bool) -> None:
    tag = etag_of(b"heads")
    value = None if field is None else field.replace("{t}", tag.strip('"'))
    assert not_modified(value, tag) is matches


@pytest.mark.parametrize(
    "tag", [None, "", "abc", '"a', '"a"b', '"' + "a" * 79 + '"', '"a\x00"', '"a b"', 'w/"a"']
)
def test_a_peer_tag_that_is_not_one_is_not_kept(tag: str | None) -> None:
    assert usable(tag) is None


# --- the node answers -----------------------------------------------------------------------


def test_unchanged_heads_are_a_bodiless_304_and_a_write_changes_the_tag(node: Node) -> None:
    first = node.client.get("/federation/heads")
    tag = first.headers["etag"]
    assert first.status_code == 200 and tag == etag_of(first.content)
    again = node.client.get("/federation/heads", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag
    # A 304 carries no security headers: a cache keeps the stored response's own.
    assert "content-security-policy" not in again.headers
    assert node.client.post("/admin/members", json=member_body(), headers=node.editor)
    after = node.client.get("/federation/heads", headers={"If-None-Match": tag})
    assert after.status_code == 200 and after.headers["etag"] != tag
    assert Heads.model_validate_json(after.content).origins[0].last_seq == 1


# --- a pull ---------------------------------------------------------------------------------


def test_a_pull_takes_a_304_and_goes_on_with_the_heads_it_kept(
    tmp_path: Path, clock: Clock
) -> None:
    async def scenario() -> None:
        fed = three(tmp_path, clock)
        hub, eu, asia = fed.hub, fed.nodes["europe"], fed.nodes["asia"]
        quiet(hub, eu, asia)
        answers: list[tuple[str, int]] = []

        async def seen(response: httpx.Response) -> None:
            if response.request.url.path == "/federation/heads":
                answers.append((response.request.url.host, response.status_code))

        assert fed.http is not None
        fed.http.event_hooks["response"].append(seen)
        try:
            await create_member(asia, "Asia member 0")
            await fed.converge()
            peer = peer_entry(eu, asia)
            answers.clear()
            assert (await eu.sync.puller.pull(peer, force=True)).ok
            assert answers == [("asia.test", 304)]  # unchanged since the last pull

            await create_member(asia, "Asia member 1")
            answers.clear()
            result = await eu.sync.puller.pull(peer, force=True)
            assert answers == [("asia.test", 200)] and result.applied == 1
            answers.clear()
            result = await eu.sync.puller.pull(peer, force=True)
            assert answers == [("asia.test", 304)] and result.ok and result.applied == 0
        finally:
            await fed.close()

    run(scenario())


def _peer(status: int, etag: str | None) -> httpx.AsyncClient:
    """A peer that answers every heads request with ``status`` (and a body if 200)."""
    body = b'{"node":"hn-aaaaaaaaaaaaaaaaaaaaaaaa","roster_version":1,"origins":[]}'

    async def heads(request: Request) -> Response:
        headers = {"ETag": etag} if etag else {}
        return Response(body if status == 200 else b"", status_code=status, headers=headers)

    app = Starlette(routes=[Route("/federation/heads", heads)])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p.test")


def test_a_peer_that_tags_nothing_or_ignores_the_tag_is_pulled_as_before() -> None:
    async def scenario() -> None:
        async with _peer(200, None) as http:
            client = PeerClient(http)
            seen = await client.heads_since("p", "http://p.test", None)
            assert seen.etag is None and seen.heads.roster_version == 1
        async with _peer(200, '"v1"') as http:
            client = PeerClient(http)
            kept = SeenHeads(seen.heads, '"v0"')
            again = await client.heads_since("p", "http://p.test", kept)
            assert again.etag == '"v1"' and again is not kept  # a full answer wins

    run(scenario())


def test_a_304_to_an_unconditional_request_is_refused() -> None:
    async def scenario() -> None:
        async with _peer(304, '"v1"') as http:
            with pytest.raises(PeerBadResponse, match="answered 304"):
                await PeerClient(http).heads_since("p", "http://p.test", None)

    run(scenario())
