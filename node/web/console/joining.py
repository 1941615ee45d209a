"""A regional node's "join the network" screen: send the hub a signed join request and
see what became of it.

The request is the one ``healthnet join`` sends (``node.joins.request_body``, signed by
``federation.joining.sign_join`` with this node's key), so the hub cannot tell them apart.
The page shows the key's fingerprint, which the hub's admin reads back on the phone
before approving. A node that does not follow a hub yet is told the one command that
sets it up: following a hub changes what the running node trusts, so it is done from
the node's home and takes effect at the next start.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from federation.errors import HealthnetError
from federation.joining import fingerprint, sign_join
from federation.keys import node_id_for
from node import audit, joins
from node.db.engine import writer
from node.db.session import Session
from node.deps import PeerHttpDep, RuntimeDep
from node.dialects import PageRoute
from node.runtime import Runtime
from node.signins import SignedIn
from node.web.console.auth import AdminInDep, FormDep
from node.web.console.screen import go, show
from schemas.fields import EMAIL_PATTERN

router = APIRouter(prefix="/admin", include_in_schema=False, route_class=PageRoute)

HUB_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


async def _status_of_sent(runtime: Runtime, http: httpx.AsyncClient) -> dict[str, Any] | None:
    """What the hub says of the request this node sent, or why it could not say."""
    sent = joins.sent_request(runtime.settings.home)
    if sent is None:
        return None
    try:
        url = f"{sent['hub_url']}/federation/join/{sent['id']}"
        r = await http.get(url, timeout=HUB_TIMEOUT)
        answer = r.json()
    except (httpx.HTTPError, ValueError) as exc:
        return {"id": sent["id"], "status": "unknown", "reason": f"the hub does not answer: {exc}"}
    if r.status_code != 200:
        return {"id": sent["id"], "status": "unknown", "reason": joins.problem_text(answer)}
    return {"id": sent["id"], "status": answer.get("status"), "reason": answer.get("reason")}


async def _page(
    request: Request,
    runtime: Runtime,
    who: SignedIn,
    http: httpx.AsyncClient,
    *,
    errors: list[tuple[str, str]] | None = None,
    contact: str = "",
    status: int = 200,
) -> HTMLResponse:
    s, key = runtime.settings, runtime.key
    context = {
        "title": "Join the network",
        "settings": s,
        "fingerprint": fingerprint(key.public_b64),
        "public_key": key.public_b64,
        "follows_hub": bool(s.hub_url and s.hub_key),
        "can_sign": node_id_for(key.public_raw) == s.node_id,
        "sent": await _status_of_sent(runtime, http) if not s.hub else None,
        "errors": errors or [],
        "by_field": dict(errors or []),
        "values": {"contact": contact},
    }
    return show(request, who, "join.html", context, status=status)


@router.get("/join", response_class=HTMLResponse)
async def join_page(
    request: Request, runtime: RuntimeDep, who: AdminInDep, http: PeerHttpDep
) -> Response:
    return await _page(request, runtime, who, http)


@router.post("/join", response_class=HTMLResponse)
async def send_join(
    request: Request, runtime: RuntimeDep, who: AdminInDep, form: FormDep, http: PeerHttpDep
) -> Response:
    s = runtime.settings
    contact = str(form.get("contact") or "").strip()

    async def refused(field: str, reason: str, status: int = 422) -> Response:
        errors = [(field, reason)]
        return await _page(request, runtime, who, http, errors=errors, contact=contact,
                           status=status)  # fmt: skip

    if not re.fullmatch(EMAIL_PATTERN, contact) or len(contact) > 254:
        return await refused("contact", "an email address the hub's operator can write to")
    if s.hub or not (s.hub_url and s.hub_key):
        return await refused("hub", "this node follows no hub yet: see the command above")
    try:
        body = joins.request_body(s, runtime.key, contact=contact, now=runtime.clock())
        envelope = sign_join(runtime.key, body)
    except HealthnetError as exc:
        return await refused("contact", str(exc))
    try:
        r = await http.post(f"{s.hub_url}/federation/join", json=envelope, timeout=HUB_TIMEOUT)
        answer = r.json()
    except (httpx.HTTPError, ValueError) as exc:
        return await refused("hub", f"the hub at {s.hub_url} did not take it: {exc}", 502)
    if r.status_code != 202:
        why = joins.problem_text(answer)
        return await refused("hub", f"the hub refused it ({r.status_code}): {why}")
    joins.remember_sent(s.home, hub_url=s.hub_url, request_id=str(answer["id"]))
    with Session(writer(runtime.engine)) as session:
        audit.record_action(
            session, now=runtime.clock(), token_id=who.token.id, action="send join request",
            outcome="ok", target_kind="join", target_id=str(answer["id"])[:36],
            detail=f"to {s.hub_url}",
        )  # fmt: skip
        session.commit()
    return go("/admin/join?sent=1")
