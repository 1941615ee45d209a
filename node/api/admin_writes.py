"""The admin write routes, built once for each record kind (members, events).

No ``from __future__ import annotations`` here: FastAPI reads the route functions'
annotations, and the body model is a parameter of the factory, so it must be a real object
when the function is defined, not a string to be resolved in this module's globals.
"""

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, Path, Response
from pydantic import BaseModel

from node.db.session import Session
from node.deps import AnnounceDep, EditorDep, RuntimeDep, WriteSessionDep
from node.problem_docs import responses
from node.publisher import Mode
from node.writes import WriteResult, write

RecordIdPath = Annotated[
    str, Path(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
]
IfMatch = Annotated[str | None, Header(description='The version this write replaces, e.g. "3"')]
Check = Callable[[Session, BaseModel], None]


def admin_router(kind: str, model: type[BaseModel], *, check: Check | None = None) -> APIRouter:
    """``POST /admin/{kind}s``, ``PUT`` and ``DELETE /admin/{kind}s/{record_id}``.

    ``check`` runs extra input rules that need the database (an event's organizer must be
    a member), inside the write's transaction.
    """
    router = APIRouter(
        prefix=f"/admin/{kind}s",
        tags=["admin"],
        responses=responses(400, 401, 403, 404, 409, 413, 422, 429),
    )

    def checked(session: Session, body: BaseModel) -> None:
        if check is not None:
            check(session, body)

    @router.post("", status_code=201, response_model=WriteResult, operation_id=f"create_{kind}")
    def create(
        body: model,  # type: ignore[valid-type]
        session: WriteSessionDep,
        runtime: RuntimeDep,
        token: EditorDep,
        background: BackgroundTasks,
        announce: AnnounceDep,
        response: Response,
    ) -> WriteResult:
        checked(session, body)
        record_id = str(uuid.uuid4())
        # 201 names where the new resource lives (RFC 9110 15.3.2): its public read.
        response.headers["Location"] = f"/{kind}s/{record_id}"
        return write(
            session,
            runtime,
            token,
            background=background,
            announce=announce,
            kind=kind,
            record_id=record_id,
            mode=Mode.CREATE,
            body=body,
        )

    @router.put("/{record_id}", response_model=WriteResult, operation_id=f"replace_{kind}")
    def replace(
        record_id: RecordIdPath,
        body: model,  # type: ignore[valid-type]
        session: WriteSessionDep,
        runtime: RuntimeDep,
        token: EditorDep,
        background: BackgroundTasks,
        announce: AnnounceDep,
        if_match: IfMatch = None,
    ) -> WriteResult:
        checked(session, body)
        return write(
            session,
            runtime,
            token,
            background=background,
            announce=announce,
            kind=kind,
            record_id=record_id,
            mode=Mode.UPDATE,
            body=body,
            if_match=if_match,
        )

    @router.delete("/{record_id}", response_model=WriteResult, operation_id=f"delete_{kind}")
    def delete(
        record_id: RecordIdPath,
        session: WriteSessionDep,
        runtime: RuntimeDep,
        token: EditorDep,
        background: BackgroundTasks,
        announce: AnnounceDep,
        if_match: IfMatch = None,
    ) -> WriteResult:
        return write(
            session,
            runtime,
            token,
            background=background,
            announce=announce,
            kind=kind,
            record_id=record_id,
            mode=Mode.DELETE,
            if_match=if_match,
        )

    return router
