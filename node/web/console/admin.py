"""The admins' screens of the console: tokens and the audit log.

A new token's secret is shown once, on the page that answers the form (never in a
redirect's URL, never again afterwards), as ``healthnet token create`` prints it once.
Revoking a token ends its console sessions too (``node.tokens.revoke_token``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from node import audit, tokens
from node.db.engine import writer
from node.db.session import Session
from node.deps import RuntimeDep, SessionDep
from node.dialects import PageRoute
from node.errors import InvalidInput
from node.signins import SignedIn
from node.web.console.auth import AdminInDep, FormDep
from node.web.console.screen import go, show

router = APIRouter(prefix="/admin", include_in_schema=False, route_class=PageRoute)

TokenId = Annotated[str, Path(pattern=r"^[0-9a-f]{1,16}$")]
AUDIT_PAGE = 50


def _tokens_page(
    request: Request,
    session: Session,
    who: SignedIn,
    *,
    created: str = "",
    errors: list[tuple[str, str]] | None = None,
    label: str = "",
    status: int = 200,
) -> HTMLResponse:
    context = {
        "title": "Tokens",
        "tokens": tokens.list_tokens(session),
        "roles": [r.value for r in tokens.Role],
        "created": created,
        "errors": errors or [],
        "by_field": dict(errors or []),
        "values": {"label": label},
    }
    return show(request, who, "tokens.html", context, status=status)


@router.get("/tokens", response_class=HTMLResponse)
def list_tokens(request: Request, session: SessionDep, who: AdminInDep) -> Response:
    return _tokens_page(request, session, who)


@router.post("/tokens", response_class=HTMLResponse)
def create_token(
    request: Request, session: SessionDep, runtime: RuntimeDep, who: AdminInDep, form: FormDep
) -> Response:
    label = str(form.get("label") or "").strip()
    role_text = str(form.get("role") or "")
    errors = []
    if not label or len(label) > 200:
        errors.append(("label", "say whose it is or what it is for, in up to 200 characters"))
    if role_text not in {r.value for r in tokens.Role}:
        errors.append(("role", "editor (members and events) or admin (also tokens and audit)"))
    if errors:
        return _tokens_page(request, session, who, errors=errors, label=label, status=422)
    with Session(writer(runtime.engine), expire_on_commit=False) as write_session:
        row, secret = tokens.create_token(
            write_session, role=tokens.Role(role_text), label=label, now=runtime.clock()
        )
        audit.record_action(
            write_session, now=runtime.clock(), token_id=who.token.id, action="create token",
            outcome="ok", detail=f"{row.id} ({row.role}): {label}",
        )  # fmt: skip
        write_session.commit()
    session.expire_all()
    return _tokens_page(request, session, who, created=secret)


@router.get("/tokens/{token_id}/revoke", response_class=HTMLResponse)
def confirm_revoke(
    request: Request, session: SessionDep, who: AdminInDep, token_id: TokenId
) -> Response:
    found = [t for t in tokens.list_tokens(session) if t.id == token_id]
    if not found:
        raise InvalidInput([("token", f"no token {token_id}")])
    context = {"title": "Revoke this token?", "token": found[0], "own": token_id == who.token.id}
    return show(request, who, "revoke.html", context)


@router.post("/tokens/{token_id}/revoke")
def revoke(runtime: RuntimeDep, who: AdminInDep, form: FormDep, token_id: TokenId) -> Response:
    with Session(writer(runtime.engine)) as write_session:
        tokens.revoke_token(write_session, token_id=token_id, now=runtime.clock())
        audit.record_action(
            write_session, now=runtime.clock(), token_id=who.token.id, action="revoke token",
            outcome="ok", detail=token_id,
        )  # fmt: skip
        write_session.commit()
    # Revoking one's own token ends one's own session: the sign-in page says so.
    return go("/admin/tokens" if token_id != who.token.id else "/admin/sign-in?signed_out=1")


@router.get("/log", response_class=HTMLResponse)
def audit_log(
    request: Request,
    session: SessionDep,
    who: AdminInDep,
    before: Annotated[int | None, Query(ge=1, le=2**53)] = None,
) -> Response:
    rows = audit.newest_actions(session, before=before, limit=AUDIT_PAGE)
    older = rows[-1].id if len(rows) == AUDIT_PAGE else None
    context = {"title": "Audit log", "rows": rows, "older": older, "before": before}
    return show(request, who, "log.html", context)
