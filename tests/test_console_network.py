"""Joining the network from the consoles, in process (support.fedkit): the applicant's
admin sends the signed request from its node's console, the hub's admin sees it with
its fingerprint, approves or declines it, and suspends and restores nodes."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session
from support.clock import Clock
from support.console import csrf_of
from support.federation_world import create_member, run, sqlite_urls, total
from support.fedkit import Federation, FedNode, settle

from federation.joining import fingerprint
from node import tokens
from schemas.geo import Region


@pytest.fixture
def fed(tmp_path: Path, clock: Clock) -> Iterator[Federation]:
    fed = Federation(tmp_path, clock, sqlite_urls(tmp_path))
    fed.add("hub", Region.NORTH_AMERICA, hub=True, name="Mayo Clinic")
    fed.add("europe", Region.EUROPE, name="Radboud UMC", admit=False)
    yield fed
    run(fed.close())


def _token(node: FedNode, clock: Clock, role: tokens.Role = tokens.Role.ADMIN) -> str:
    with Session(node.app.state.runtime.engine) as session:
        _, secret = tokens.create_token(session, role=role, label="leader", now=clock())
        session.commit()
    return secret


async def _signed_in(node: FedNode, clock: Clock) -> httpx.AsyncClient:
    c = httpx.AsyncClient(transport=httpx.ASGITransport(app=node.app),
                          base_url=f"http://{node.host}")  # fmt: skip
    page = await c.get("/admin/sign-in")
    r = await c.post("/admin/sign-in", data={"csrf": csrf_of(page.text),
                                             "token": _token(node, clock)})  # fmt: skip
    assert r.status_code == 303, r.text
    return c


async def _post(c: httpx.AsyncClient, page: str, action: str, **data: str) -> httpx.Response:
    opened = await c.get(page)
    assert opened.status_code == 200, opened.text
    r = await c.post(action, data={"csrf": csrf_of(opened.text), **data})
    await settle()
    return r


def test_join_from_the_console_approve_on_the_hub_and_sync(fed: Federation, clock: Clock) -> None:
    async def scenario() -> None:
        hub, eu = fed.hub, fed.nodes["europe"]
        await create_member(eu, "Radboud member")
        applicant, hub_admin = await _signed_in(eu, clock), await _signed_in(hub, clock)
        page = (await applicant.get("/admin/join")).text
        mine = fingerprint(eu.app.state.runtime.key.public_b64)
        assert mine in page and "http://hub.test" in page
        bad = await _post(applicant, "/admin/join", "/admin/join", contact="not an email")
        assert bad.status_code == 422 and "email address" in bad.text
        assert "Join requests waiting" in (await hub_admin.get("/admin/network")).text
        assert 'data-request="' not in (await hub_admin.get("/admin/network")).text
        sent = await _post(applicant, "/admin/join", "/admin/join", contact="reshape@radboudumc.nl")
        assert sent.status_code == 303 and sent.headers["location"] == "/admin/join?sent=1"
        status = (await applicant.get("/admin/join?sent=1")).text
        assert "<strong>pending</strong>" in status

        network = (await hub_admin.get("/admin/network")).text
        match = re.search(r'data-request="([0-9a-f]+)"', network)
        assert match is not None
        assert mine in network and "reshape@radboudumc.nl" in network  # read it aloud
        request_page = f"/admin/network/requests/{match.group(1)}"
        r = await _post(hub_admin, request_page, f"{request_page}/approve")
        assert r.status_code == 303 and "approved=" in r.headers["location"]
        done = (await hub_admin.get(r.headers["location"])).text
        assert "is listed in roster version 2" in done
        assert f'data-node="{eu.node_id}"' in done
        assert "<strong>approved</strong>" in (await applicant.get("/admin/join")).text

        await fed.converge()  # the applicant's node follows the new roster by itself
        assert eu.sync.trust.current.version == 2
        assert await total(hub) == 1  # Radboud's member reached the hub
        log = (await hub_admin.get("/admin/log")).text
        assert "approve join" in log

        # Suspend, then restore, with a confirmation page each.
        node_page = f"/admin/network/nodes/{eu.node_id}/suspend"
        assert "Its new records are refused" in (await hub_admin.get(node_page)).text
        r = await _post(hub_admin, node_page, node_page)
        assert r.status_code == 303
        listed = (await hub_admin.get("/admin/network")).text
        row = listed[listed.index(f'data-node="{eu.node_id}"'):]
        assert html.unescape(row[: row.index("</tr>")]).count("suspended") == 1
        assert hub.sync.trust.current.nodes[eu.node_id].status.value == "suspended"
        restore = f"/admin/network/nodes/{eu.node_id}/restore"
        r = await _post(hub_admin, restore, restore)
        assert hub.sync.trust.current.nodes[eu.node_id].status.value == "active"
        await applicant.aclose()
        await hub_admin.aclose()

    run(scenario())


def test_decline_needs_a_reason_that_the_applicant_sees(fed: Federation, clock: Clock) -> None:
    async def scenario() -> None:
        eu = fed.nodes["europe"]
        applicant, hub_admin = await _signed_in(eu, clock), await _signed_in(fed.hub, clock)
        await _post(applicant, "/admin/join", "/admin/join", contact="reshape@radboudumc.nl")
        network = (await hub_admin.get("/admin/network")).text
        request_id = re.search(r'data-request="([0-9a-f]+)"', network).group(1)  # type: ignore[union-attr]
        page = f"/admin/network/requests/{request_id}"
        r = await _post(hub_admin, page, f"{page}/decline", reason="")
        assert r.status_code == 422 and "the applicant reads it" in r.text
        r = await _post(hub_admin, page, f"{page}/decline", reason="Europe has a leader already")
        assert r.status_code == 303
        seen = (await applicant.get("/admin/join")).text
        assert "<strong>declined</strong>: Europe has a leader already" in seen
        await applicant.aclose()
        await hub_admin.aclose()

    run(scenario())


def test_network_screens_are_for_the_hubs_admins(fed: Federation, clock: Clock) -> None:
    async def scenario() -> None:
        eu = fed.nodes["europe"]
        regional = await _signed_in(eu, clock)
        assert (await regional.get("/admin/network")).status_code == 403  # not the hub
        editor = httpx.AsyncClient(transport=httpx.ASGITransport(app=fed.hub.app),
                                   base_url="http://hub.test")  # fmt: skip
        page = await editor.get("/admin/sign-in")
        secret = _token(fed.hub, clock, tokens.Role.EDITOR)
        await editor.post("/admin/sign-in", data={"csrf": csrf_of(page.text), "token": secret})
        assert (await editor.get("/admin/network")).status_code == 403
        hub_self = f"/admin/network/nodes/{fed.hub.node_id}/revoke"
        hub_admin = await _signed_in(fed.hub, clock)
        r = await _post(hub_admin, hub_self, hub_self)
        assert r.status_code == 409  # the hub cannot revoke itself
        for c in (regional, editor, hub_admin):
            await c.aclose()

    run(scenario())
