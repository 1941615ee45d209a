"""Members: the public directory (``/members``) and the admin writes (``/admin/members``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, Path, Query, Response

from node.api.reads import (
    MemberPage,
    check_limit,
    normal_language,
    one,
    page_response,
    parse_near,
)
from node.api.writes import WriteResult, write
from node.db.search import Query as Search
from node.db.search import search
from node.deps import EditorDep, RuntimeDep, SessionDep, WriteSessionDep
from node.errors import InvalidInput
from node.problems import responses
from node.publisher import Mode
from schemas.geo import Region
from schemas.member import MemberCreate, MemberKind, MemberPublic, NetworkRole

public = APIRouter(prefix="/members", tags=["members"], responses=responses(404, 422))
admin = APIRouter(
    prefix="/admin/members",
    tags=["admin"],
    responses=responses(400, 401, 403, 404, 409, 413, 422, 429),
)

RecordIdPath = Annotated[
    str, Path(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
]
IfMatch = Annotated[str | None, Header(description='The version this write replaces, e.g. "3"')]


@public.get("", response_model=MemberPage)
def list_members(
    session: SessionDep,
    runtime: RuntimeDep,
    q: Annotated[str | None, Query(max_length=200, description="Words, prefix-matched")] = None,
    region: Region | None = None,
    country: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$")] = None,
    kind: MemberKind | None = None,
    role: NetworkRole | None = None,
    topic: Annotated[str | None, Query(max_length=60)] = None,
    language: Annotated[str | None, Query(max_length=35)] = None,
    near: Annotated[str | None, Query(description="lat,lon: nearest first")] = None,
    within_km: Annotated[float | None, Query(gt=0, le=20040)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    cursor: Annotated[str | None, Query(max_length=600)] = None,
    count: bool = False,
) -> Response:
    point = parse_near(near)
    if within_km is not None and point is None:
        raise InvalidInput([("query.within_km", "needs near=lat,lon")])
    query = Search(
        kind="member",
        limit=check_limit(limit, runtime.settings.max_page_size),
        q=q,
        region=region.value if region else None,
        country=country.upper() if country else None,
        category=kind.value if kind else None,
        role=role.value if role else None,
        topic=topic.strip().lower() if topic else None,
        language=normal_language(language),
        near=point,
        within_km=within_km if point else None,
    )
    return page_response(search(session, query, cursor=cursor, count=count), "member")


@public.get("/{member_id}", responses={200: {"model": MemberPublic}})
def get_member(member_id: RecordIdPath, session: SessionDep) -> Response:
    return one(session, kind="member", record_id=member_id)


@admin.post("", status_code=201, response_model=WriteResult)
def create_member(
    body: MemberCreate,
    session: WriteSessionDep,
    runtime: RuntimeDep,
    token: EditorDep,
    background: BackgroundTasks,
) -> WriteResult:
    return write(
        session,
        runtime,
        token,
        background=background,
        kind="member",
        record_id=str(uuid.uuid4()),
        mode=Mode.CREATE,
        body=body,
    )


@admin.put("/{member_id}", response_model=WriteResult)
def replace_member(
    member_id: RecordIdPath,
    body: MemberCreate,
    session: WriteSessionDep,
    runtime: RuntimeDep,
    token: EditorDep,
    background: BackgroundTasks,
    if_match: IfMatch = None,
) -> WriteResult:
    return write(
        session,
        runtime,
        token,
        background=background,
        kind="member",
        record_id=member_id,
        mode=Mode.UPDATE,
        body=body,
        if_match=if_match,
    )


@admin.delete("/{member_id}", response_model=WriteResult)
def delete_member(
    member_id: RecordIdPath,
    session: WriteSessionDep,
    runtime: RuntimeDep,
    token: EditorDep,
    background: BackgroundTasks,
    if_match: IfMatch = None,
) -> WriteResult:
    return write(
        session,
        runtime,
        token,
        background=background,
        kind="member",
        record_id=member_id,
        mode=Mode.DELETE,
        if_match=if_match,
    )
