"""Who is signed in to the console, and whether a form may change anything.

Three checks stand between a browser and a write, in this order:

1. a live session (``node.signins``): its cookie is HttpOnly and SameSite=Strict, so
   another site's page cannot read it and a cross-site request does not carry it;
2. the request comes from this node's own pages: ``Sec-Fetch-Site`` (sent by every
   current browser) or, failing that, ``Origin`` must name this origin;
3. the form carries the session's CSRF token, which only a page rendered for this
   session holds.

Either of 2 and 3 alone would stop a cross-site form; both are cheap, and together they
also cover an old browser and a page left open across a sign-out.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.datastructures import FormData

from node import signins
from node.db.engine import writer
from node.db.session import Session
from node.deps import RuntimeDep
from node.errors import Forbidden, RefusedForm, SignInRequired
from node.runtime import Runtime
from node.signins import Policy, SignedIn
from node.tokens import Role

# Each console form is small; an upload has its own, larger limit (the body limit).
MAX_FIELDS = 100


def policy(runtime: Runtime) -> Policy:
    s = runtime.settings
    return Policy(
        idle=timedelta(minutes=s.console_idle_minutes),
        absolute=timedelta(hours=s.console_session_hours),
    )


def secure(runtime: Runtime) -> bool:
    """Cookies are Secure when the node is reached over https (behind its TLS proxy)."""
    return runtime.settings.url.lower().startswith("https://")


def current(request: Request, runtime: Runtime) -> SignedIn | None:
    presented = request.cookies.get(signins.cookie(runtime.settings.node_id))
    if not presented:
        return None
    now = runtime.clock()
    # Read without the write lock (every console page asks); write only when due.
    with Session(runtime.engine, expire_on_commit=False) as session:
        resolved = signins.resolve(session, session_id=presented, now=now, policy=policy(runtime))
    if resolved.end or resolved.touch:
        with Session(writer(runtime.engine)) as session:
            signins.record(session, session_id=presented, resolved=resolved, now=now)
            session.commit()
    return resolved.who


def signed_in(request: Request, runtime: RuntimeDep) -> SignedIn:
    who = current(request, runtime)
    if who is None:
        raise SignInRequired("sign in to use the console")
    return who


SignedInDep = Annotated[SignedIn, Depends(signed_in)]


def admin_signed_in(who: SignedInDep) -> SignedIn:
    if who.token.role != Role.ADMIN:
        raise Forbidden("this page is for the node's admins; your token is an editor's")
    return who


AdminInDep = Annotated[SignedIn, Depends(admin_signed_in)]


def from_this_site(request: Request, runtime: Runtime) -> bool:
    """Whether a state-changing request came from this node's own pages."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")  # "none": typed or bookmarked
    origin = request.headers.get("origin")
    if origin is None:
        return True  # no browser signal at all: the CSRF token decides alone
    own = {_origin(str(request.base_url)), _origin(runtime.settings.url)}
    return origin.rstrip("/").lower() in own


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def checked_form(request: Request, runtime: Runtime, *, expected: str) -> FormData:
    """The posted form, once it passed the origin and CSRF checks (else ``RefusedForm``,
    a 403, before anything is read into the database)."""
    if not from_this_site(request, runtime):
        raise RefusedForm("this form was sent from another site; nothing was changed")
    form = await request.form(max_files=1, max_fields=MAX_FIELDS)
    presented = form.get("csrf")
    if not signins.same_secret(expected, presented if isinstance(presented, str) else None):
        raise RefusedForm(
            "this form is out of date (opened before a sign-in, or from elsewhere);"
            " nothing was changed: open the page again"
        )
    return form


async def session_form(request: Request, runtime: RuntimeDep, who: SignedInDep) -> FormData:
    return await checked_form(request, runtime, expected=who.csrf)


FormDep = Annotated[FormData, Depends(session_form)]
