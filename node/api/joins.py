"""Join requests over HTTP (docs/PROTOCOL.md 10.7): an applicant posts its signed request to
the hub and polls the outcome; the hub's admins list, approve and decline. Thin: the rules
are node.joins', the verification federation.joining's.

The public side says nothing about anyone else's request: the poll answers the status
(and a decline's reason) of the one request whose unguessable id the applicant was given.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from federation import joining
from node import joins
from node.db.session import Session, writer
from node.deps import AdminDep, RuntimeDep, SessionDep, TrustDep, WriteSessionDep
from node.errors import NotAHub
from node.problem_docs import responses
from node.runtime import Runtime
from node.settings import NodeSettings
from schemas.join import JoinRequest, JoinStatus

public = APIRouter(
    prefix="/federation/join", tags=["federation"], responses=responses(404, 409, 413, 422, 429)
)
admin = APIRouter(
    prefix="/admin/joins", tags=["admin"], responses=responses(401, 403, 404, 409, 422, 429)
)

RequestIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="As POST answered")]

_ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "request", "sig"],
    "additionalProperties": False,
    "properties": {
        "type": {"type": "string", "const": joining.JOIN_TYPE},
        "request": {"type": "object", "description": "The JoinRequest (PROTOCOL.md 10.7)"},
        "sig": {"type": "string", "pattern": "^[A-Za-z0-9_-]{86}$"},
    },
}


class JoinReceipt(BaseModel):
    """What the applicant is told: where to poll, and the fingerprint to read aloud."""

    id: str
    node_id: str
    status: JoinStatus
    fingerprint: str


class JoinState(BaseModel):
    id: str
    status: JoinStatus
    reason: str | None = Field(default=None, description="Only for a declined request")


class JoinItem(BaseModel):
    """A request as the hub's admin sees it."""

    id: str
    node_id: str
    status: JoinStatus
    reason: str
    fingerprint: str
    received_at: str
    decided_at: str | None
    client: str
    request: JoinRequest


class JoinPage(BaseModel):
    items: list[JoinItem]


class Approved(JoinItem):
    roster_version: int


class Decline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=joins.MAX_REASON)


def _hub_only(settings: NodeSettings) -> None:
    if not settings.hub:
        raise NotAHub("this node is not a hub: send join requests to the network's hub")


def _item(view: joins.JoinView) -> JoinItem:
    return JoinItem.model_validate(view, from_attributes=True)


def _receive(runtime: Runtime, envelope: Any, client: str) -> joins.JoinView:
    with Session(writer(runtime.engine), expire_on_commit=False) as session:
        return joins.receive(
            session,
            envelope=envelope,
            settings=runtime.settings,
            now=runtime.clock(),
            client=client,
        )


@public.post(
    "",
    status_code=202,
    response_model=JoinReceipt,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ENVELOPE_SCHEMA}},
        }
    },
)
async def post_join(request: Request, runtime: RuntimeDep) -> JoinReceipt:
    """Ask to join the network: a join envelope signed by the applicant's node key.

    Answered 202 with the request's id: an admin of the hub decides later. Rate limited
    per client address; the body is read as bytes, so that duplicate member names and
    oversize bodies are refused before anything is parsed into objects.
    """
    _hub_only(runtime.settings)
    client = request.client.host if request.client else "unknown"
    await run_in_threadpool(runtime.join_limiter.hit, client, now=runtime.rate_clock())
    envelope = joining.parse(await request.body())
    view = await run_in_threadpool(_receive, runtime, envelope, client)
    return JoinReceipt(
        id=view.id, node_id=view.node_id, status=view.status, fingerprint=view.fingerprint
    )


@public.get("/{request_id}", response_model=JoinState)
def join_state(request_id: RequestIdPath, session: SessionDep, runtime: RuntimeDep) -> JoinState:
    """The applicant's poll: the request's status, and the reason if it was declined."""
    _hub_only(runtime.settings)
    view = joins.get(session, request_id, now=runtime.clock())
    reason = view.reason if view.status is JoinStatus.DECLINED else None
    return JoinState(id=view.id, status=view.status, reason=reason)


@admin.get("", response_model=JoinPage)
def list_joins(
    session: SessionDep,
    runtime: RuntimeDep,
    token: AdminDep,
    status: Annotated[
        Literal["pending", "all"], Query(description="Pending only, or every request")
    ] = "pending",
) -> JoinPage:
    """Join requests received by this hub, newest first."""
    _hub_only(runtime.settings)
    now = runtime.clock()
    views = joins.pending(session, now) if status == "pending" else joins.recent(session, now)
    return JoinPage(items=[_item(v) for v in views])


@admin.post("/{request_id}/approve", response_model=Approved)
def approve_join(
    request_id: RequestIdPath, runtime: RuntimeDep, trust: TrustDep, token: AdminDep
) -> Approved:
    """List the applicant in the roster (a new roster version) and mark the request approved."""
    _hub_only(runtime.settings)
    view, version = joins.approve(
        runtime.engine,
        runtime.settings,
        request_id,
        now=runtime.clock(),
        key=runtime.key,
        token_id=token.id,
    )
    trust.reload()  # this process pulls from the new node from its next round on
    return Approved(**_item(view).model_dump(), roster_version=version)


@admin.post("/{request_id}/decline", response_model=JoinItem)
def decline_join(
    request_id: RequestIdPath,
    body: Decline,
    session: WriteSessionDep,
    runtime: RuntimeDep,
    token: AdminDep,
) -> JoinItem:
    """Refuse the request; the applicant's poll shows the reason."""
    _hub_only(runtime.settings)
    view = joins.decline(session, request_id, body.reason, now=runtime.clock(), token_id=token.id)
    return _item(view)
