"""Members: the public directory (``/members``) and the admin writes (``/admin/members``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from node.api.admin_writes import RecordIdPath, admin_router
from node.api.reads import (
    MemberPage,
    check_limit,
    one,
    page_response,
    parse_near,
)
from node.db.search import COUNT_CAP, search
from node.db.search import Query as Search
from node.deps import RuntimeDep, SessionDep
from node.entries import normal_language
from node.errors import InvalidInput
from node.problem_docs import responses
from schemas.geo import Region
from schemas.member import MemberCreate, MemberKind, MemberPublic, NetworkRole

public = APIRouter(prefix="/members", tags=["members"], responses=responses(404, 422))


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
    return page_response(
        search(session, query, cursor=cursor, count=count, count_cap=COUNT_CAP), "member"
    )


@public.get("/{member_id}", responses={200: {"model": MemberPublic}})
def get_member(member_id: RecordIdPath, session: SessionDep) -> Response:
    return one(session, kind="member", record_id=member_id)


admin = admin_router("member", MemberCreate)
