"""Signing in and out of the console, and its front page.

Sign-in takes an API token once and gives a session cookie; the token is not kept in
the browser. The sign-in form has a CSRF token of its own, in a short-lived cookie
(double submit), so another site cannot sign a browser in under the attacker's token
either. Failed sign-ins share the API's per-address limit (``Runtime.auth_limiter``);
behind a reverse proxy the address is the real client's (``proxy_headers`` setting).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from node import audit, signins, tokens
from node.db import census
from node.db.engine import writer
from node.db.session import Session
from node.deps import RuntimeDep, SessionDep, failed_token_check
from node.dialects import PageRoute
from node.errors import RefusedForm, Unauthorized
from node.runtime import Runtime
from node.web.console import auth
from node.web.console.auth import FormDep, SignedInDep
from node.web.console.screen import go, show

router = APIRouter(prefix="/admin", include_in_schema=False, route_class=PageRoute)

NextQuery = Annotated[str, Query(max_length=500, alias="next")]


def _safe_next(target: str) -> str:
    """Only a console path of this node: never an open redirect to another site."""
    ok = target.startswith("/admin") and not target.startswith(("//", "/admin/sign-"))
    return target if ok and "\\" not in target else "/admin"


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _signin_page(
    request: Request, runtime: Runtime, *, target: str, error: str = "", status: int = 200
) -> HTMLResponse:
    value = secrets.token_urlsafe(24)
    context = {"title": "Sign in", "next": target, "signin_csrf": value, "error": error}
    response = show(request, None, "signin.html", context, status=status)
    response.set_cookie(
        signins.signin_cookie(runtime.settings.node_id),
        value,
        max_age=3600,
        path="/admin/sign-in",
        httponly=True,
        samesite="strict",
        secure=auth.secure(runtime),
    )
    return response


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, runtime: RuntimeDep, target: NextQuery = "/admin") -> Response:
    if auth.current(request, runtime) is not None:
        return go(_safe_next(target))
    return _signin_page(request, runtime, target=_safe_next(target))


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request, runtime: RuntimeDep) -> Response:
    if not auth.from_this_site(request, runtime):
        raise RefusedForm("this sign-in was sent from another site; nobody was signed in")
    form = await request.form(max_files=0, max_fields=auth.MAX_FIELDS)
    target = _safe_next(str(form.get("next") or "/admin"))
    expected = request.cookies.get(signins.signin_cookie(runtime.settings.node_id), "")
    presented = form.get("csrf")
    if not signins.same_secret(expected, presented if isinstance(presented, str) else None):
        raise RefusedForm("this sign-in form is out of date; open the sign-in page again")
    client = _client(request)
    now = runtime.rate_clock()
    # over the limit: 429, the token unread (the buckets are in the database: off the loop)
    await run_in_threadpool(runtime.auth_limiter.peek, client, now=now)
    token_text = str(form.get("token") or "").strip()
    try:
        if not token_text:
            raise Unauthorized("paste the token that `healthnet token create` printed")
        with Session(writer(runtime.engine)) as session:
            token = tokens.authenticate(session, presented=token_text)
            session_id = signins.start(session, token=token, now=runtime.clock())
            audit.record_action(
                session, now=runtime.clock(), token_id=token.id, action="sign in", outcome="ok",
                detail=f"console, from {client}",
            )  # fmt: skip
            session.commit()
    except Unauthorized as exc:
        failed_token_check(
            runtime, client=client, now=now, action="sign in",
            detail=f"console: {exc} from {client}",
        )  # fmt: skip
        reason = "that token is not one of this node's, or it was revoked"
        if not token_text:
            reason = str(exc)
        return _signin_page(request, runtime, target=target, error=reason, status=401)
    response = go(target)
    response.set_cookie(
        signins.cookie(runtime.settings.node_id),
        session_id,
        max_age=runtime.settings.console_session_hours * 3600,
        path="/admin",
        httponly=True,
        samesite="strict",
        secure=auth.secure(runtime),
    )
    response.delete_cookie(signins.signin_cookie(runtime.settings.node_id), path="/admin/sign-in")
    return response


@router.post("/sign-out")
def sign_out(runtime: RuntimeDep, who: SignedInDep, form: FormDep) -> Response:
    with Session(writer(runtime.engine)) as session:
        signins.end(session, session_id=who.session_id, now=runtime.clock())
        audit.record_action(
            session, now=runtime.clock(), token_id=who.token.id, action="sign out", outcome="ok"
        )
        session.commit()
    response = go("/admin/sign-in?signed_out=1")
    response.delete_cookie(signins.cookie(runtime.settings.node_id), path="/admin")
    return response


@router.get("", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, runtime: RuntimeDep, who: SignedInDep) -> Response:
    counts = census.own_counts(session, origin=runtime.settings.node_id)
    context = {"title": "Console", "counts": counts, "settings": runtime.settings}
    return show(request, who, "home.html", context)
