"""Admin-only views: the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from node import audit
from node.deps import AdminDep, SessionDep
from node.problem_docs import responses

router = APIRouter(prefix="/admin", tags=["admin"], responses=responses(401, 403, 422, 429))


class AuditItem(BaseModel):
    id: int
    at: str
    token_id: str | None
    action: str
    outcome: str
    target_kind: str | None
    target_id: str | None
    version: int | None
    seq: int | None
    detail: str


class AuditPage(BaseModel):
    items: list[AuditItem]
    next_after: int | None


@router.get("/audit", response_model=AuditPage)
def read_audit(
    session: SessionDep,
    token: AdminDep,
    after: Annotated[
        int, Query(ge=0, le=2_147_483_647, description="Entries with a larger id")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    rows = audit.list_actions(session, after=after, limit=limit)
    items = [AuditItem.model_validate(r, from_attributes=True) for r in rows]
    return AuditPage(items=items, next_after=items[-1].id if len(items) == limit else None)
