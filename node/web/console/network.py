"""The hub's network screens: join requests to decide, and the roster's nodes.

Approving a request lists the node in the roster the hub signs (``node.joins.approve``);
the applicant's node, which follows the hub, picks up the new roster at its next pull
and starts syncing by itself. Suspending, revoking and restoring a node re-sign the
roster the same way. Each is a form with its own confirmation page, and each reloads
this process's view of the roster at once, so the status pages agree with what was done.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from node import audit, joins, operator
from node.db.engine import writer
from node.db.session import Session
from node.deps import RuntimeDep, SessionDep, StatusDep, TrustDep
from node.dialects import PageRoute
from node.errors import InvalidInput, NotTheHub
from node.runtime import Runtime
from node.signins import SignedIn
from node.web.console.auth import AdminInDep, FormDep
from node.web.console.screen import go, show
from schemas.roster import NodeStatus

router = APIRouter(prefix="/admin/network", include_in_schema=False, route_class=PageRoute)

RequestId = Annotated[str, Path(pattern=r"^[0-9a-f]{1,32}$")]
NodeId = Annotated[str, Path(pattern=r"^hn-[a-z2-7]{1,40}$")]
ACTIONS = {
    "suspend": NodeStatus.SUSPENDED,
    "revoke": NodeStatus.REVOKED,
    "restore": NodeStatus.ACTIVE,
}
ActionPath = Annotated[str, Path(pattern=r"^(suspend|revoke|restore)$")]
WHAT = {
    "suspend": "Its new records are refused until it is restored; what it published stays.",
    "revoke": "It leaves the network: its new records are refused everywhere.",
    "restore": "It is active again: its new records are accepted.",
}


def _hub(runtime: Runtime) -> None:
    if not runtime.settings.hub:
        raise NotTheHub("only the hub lists nodes; join requests are sent to it")


@router.get("", response_class=HTMLResponse)
def network(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    who: AdminInDep,
    trust: TrustDep,
    status: StatusDep,
) -> Response:
    _hub(runtime)
    now = runtime.clock()
    health = {p["node_id"]: p for p in status.get("peers", [])}
    nodes = list(trust.current.nodes.values()) if trust.current is not None else []
    context = {
        "title": "The network",
        "pending": joins.pending(session, now),
        "decided": [v for v in joins.recent(session, now, limit=20) if v.status != "pending"],
        "nodes": sorted(nodes, key=lambda n: (n.region.value, n.name)),
        "health": health,
        "me": runtime.settings.node_id,
        "roster_version": trust.current.version if trust.current is not None else 0,
    }
    return show(request, who, "network.html", context)


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def join_request(
    request: Request, session: SessionDep, runtime: RuntimeDep, who: AdminInDep,
    request_id: RequestId,
) -> Response:  # fmt: skip
    _hub(runtime)
    view = joins.get(session, request_id, now=runtime.clock())
    return _request_page(request, who, view)


def _request_page(
    request: Request,
    who: SignedIn,
    view: joins.JoinView,
    *,
    errors: list[tuple[str, str]] | None = None,
    reason: str = "",
    status: int = 200,
) -> HTMLResponse:
    context = {
        "title": f"Join request from {view.request.name}",
        "view": view,
        "errors": errors or [],
        "by_field": dict(errors or []),
        "values": {"reason": reason},
    }
    return show(request, who, "join_request.html", context, status=status)


@router.post("/requests/{request_id}/approve")
def approve(
    runtime: RuntimeDep, who: AdminInDep, form: FormDep, trust: TrustDep, request_id: RequestId
) -> Response:
    _hub(runtime)
    view, version = joins.approve(
        runtime.engine, runtime.settings, request_id, now=runtime.clock(), key=runtime.key,
        token_id=who.token.id,
    )  # fmt: skip
    trust.reload()  # this process shows and trusts the new roster at once
    return go(f"/admin/network?approved={view.node_id}&version={version}")


@router.post("/requests/{request_id}/decline", response_class=HTMLResponse)
def decline(
    request: Request, session: SessionDep, runtime: RuntimeDep, who: AdminInDep,
    form: FormDep, request_id: RequestId,
) -> Response:  # fmt: skip
    _hub(runtime)
    reason = str(form.get("reason") or "").strip()
    if not reason:
        view = joins.get(session, request_id, now=runtime.clock())
        errors = [("reason", "say why, in a few words: the applicant reads it")]
        return _request_page(request, who, view, errors=errors, status=422)
    with Session(writer(runtime.engine), expire_on_commit=False) as write_session:
        view = joins.decline(
            write_session, request_id, reason, now=runtime.clock(), token_id=who.token.id
        )
    return go(f"/admin/network?declined={view.node_id}")


@router.get("/nodes/{node_id}/{action}", response_class=HTMLResponse)
def confirm_status(
    request: Request, runtime: RuntimeDep, who: AdminInDep, trust: TrustDep,
    node_id: NodeId, action: ActionPath,
) -> Response:  # fmt: skip
    _hub(runtime)
    node = trust.current.nodes.get(node_id) if trust.current is not None else None
    if node is None:
        raise InvalidInput([("node", f"no node {node_id} in the roster")])
    context = {
        "title": f"{action.capitalize()} {node.name}?", "node": node, "action": action,
        "what": WHAT[action], "own": node_id == runtime.settings.node_id,
    }  # fmt: skip
    return show(request, who, "node_status.html", context)


@router.post("/nodes/{node_id}/{action}")
def set_status(
    runtime: RuntimeDep, who: AdminInDep, form: FormDep, trust: TrustDep,
    node_id: NodeId, action: ActionPath,
) -> Response:  # fmt: skip
    _hub(runtime)
    version = operator.set_status(
        runtime.engine, runtime.settings, node_id, ACTIONS[action], now=runtime.clock()
    )
    with Session(writer(runtime.engine)) as session:
        audit.record_action(
            session, now=runtime.clock(), token_id=who.token.id, action=f"{action} node",
            outcome="ok", target_kind="node", target_id=node_id[:36], version=version,
        )  # fmt: skip
        session.commit()
    trust.reload()
    return go(f"/admin/network?{action}={node_id}&version={version}")
