"""The sync protocol's HTTP side (docs/PROTOCOL.md, "Sync"), the operator's status view
and the Prometheus endpoint. Thin: the queries are node/db's, the status is node/sync's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from federation import digest
from node import checkpoints, roster
from node.alarms import per_origin
from node.db import evidence, log, peers, quarantine
from node.deps import NudgerDep, RuntimeDep, SessionDep, StatusDep, TrustDep
from node.errors import InvalidInput, NotFound
from node.etags import etag_of, not_modified
from node.problem_docs import responses
from schemas.record import MAX_SAFE_INTEGER, Envelope
from schemas.sync import (
    MAX_PAGE_RECORDS,
    Checkpoints,
    EvidenceList,
    Heads,
    Nudge,
    OriginHead,
    RangeDigest,
    RecordPage,
)

router = APIRouter(
    prefix="/federation", tags=["federation"], responses=responses(404, 413, 422, 429)
)
metrics_router = APIRouter(tags=["node"])

NodeIdQuery = Annotated[str, Query(pattern=r"^hn-[a-z2-7]{24}$")]


@router.get(
    "/heads",
    response_model=Heads,
    responses={304: {"description": "The heads are the ones tagged in If-None-Match"}},
)
def heads(
    session: SessionDep,
    runtime: RuntimeDep,
    trust: TrustDep,
    if_none_match: Annotated[str | None, Header(max_length=1000)] = None,
) -> Response:
    """Per origin: the dense prefix held (1..last_seq), its chain head, count and digest.

    Tagged (``ETag``): a peer that sends the tag of the heads it saw last gets a bodiless
    304 while they are unchanged, which is most pulls (docs/PROTOCOL.md 10.2)."""
    body = (
        Heads(
            node=runtime.settings.node_id,
            roster_version=trust.version,
            evidence=evidence.count(session),
            origins=[
                OriginHead(
                    origin=s.origin,
                    last_seq=s.last_seq,
                    head=s.head,
                    count=s.count,
                    digest=s.digest,
                )
                for s in log.summaries(session)
            ],
        )
        .model_dump_json()
        .encode("utf-8")
    )
    tag = etag_of(body)
    if not_modified(if_none_match, tag):
        return Response(status_code=304, headers={"ETag": tag})
    return Response(body, media_type="application/json", headers={"ETag": tag})


@router.get("/records", response_model=RecordPage)
def records(
    session: SessionDep,
    trust: TrustDep,
    origin: NodeIdQuery,
    after: Annotated[
        int, Query(ge=0, le=MAX_SAFE_INTEGER, description="Exclusive: the page starts at after + 1")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_RECORDS)] = 500,
) -> Response:
    """Records of ``origin`` with seq in (after, after + limit], ascending and dense.

    Superseded versions come as stubs (body null): they keep the chain verifiable.
    """
    text = log.page_text(
        session, origin=origin, after=after, limit=limit, roster_version=trust.version
    )
    return Response(text, media_type="application/json")


@router.get("/roster", response_model=Envelope)
def roster_record(session: SessionDep, trust: TrustDep) -> Response:
    """The newest roster this node holds, as the hub signed it."""
    hub = trust.current.hub if trust.current else None
    text = hub and log.current_envelope_text(session, origin=hub, record_id=roster.roster_id(hub))
    if not text:
        raise NotFound("this node holds no roster")
    return Response(text, media_type="application/json")


@router.get("/checkpoints", response_model=Checkpoints)
def checkpoint_cosignatures(
    session: SessionDep, runtime: RuntimeDep, trust: TrustDep
) -> Checkpoints:
    """This node's cosignature of every origin it holds (signed now), then the newest
    statement of every other witness it holds (docs/PROTOCOL.md 10.8)."""
    me = runtime.settings.node_id
    served = checkpoints.served(
        session, me=me, key=runtime.key, now=runtime.clock(), trust=trust.current
    )
    return Checkpoints(node=me, cosignatures=served)


@router.get("/evidence", response_model=EvidenceList)
def equivocation_evidence(session: SessionDep, runtime: RuntimeDep) -> EvidenceList:
    """Every equivocation proof this node holds: two headers one origin signed that cannot
    both be in its log. Check them yourself (docs/PROTOCOL.md 10.8)."""
    held = evidence.held(session, limit=1000)
    return EvidenceList(node=runtime.settings.node_id, evidence=[h.proof for h in held])


class NudgeAccepted(BaseModel):
    accepted: bool


@router.post("/nudge", status_code=202, response_model=NudgeAccepted)
async def nudge(
    body: Nudge, request: Request, runtime: RuntimeDep, nudger: NudgerDep
) -> NudgeAccepted:
    """A peer has new records: pull from it soon. Only a hint; it carries no data."""
    client = request.client.host if request.client else "unknown"
    # The buckets are in the database: off the event loop, as every query is.
    await run_in_threadpool(runtime.nudge_limiter.hit, client, now=runtime.rate_clock())
    return NudgeAccepted(accepted=nudger.nudged(body))


@router.get("/digest", response_model=RangeDigest)
def range_digest(
    session: SessionDep,
    origin: NodeIdQuery,
    from_seq: Annotated[int, Query(alias="from", ge=1, le=MAX_SAFE_INTEGER)] = 1,
    to_seq: Annotated[int, Query(alias="to", ge=1, le=MAX_SAFE_INTEGER)] = MAX_SAFE_INTEGER,
) -> RangeDigest:
    """The set digest over seq in [from, to]: bisect this to find where two nodes differ."""
    if to_seq < from_seq:
        raise InvalidInput([("query.to", "must not be below from")])
    elements = list(log.digest_elements(session, origin=origin, from_seq=from_seq, to_seq=to_seq))
    return RangeDigest(
        origin=origin,
        from_seq=from_seq,
        to_seq=to_seq,
        count=len(elements),
        digest=digest.combine(elements),
    )


@router.get("/status")
def status(view: StatusDep) -> dict[str, Any]:
    """The operator's view: per peer health, per origin lag and digest agreement, alarms."""
    answer: dict[str, Any] = view
    return answer


@metrics_router.get("/metrics", response_class=Response)
def metrics(session: SessionDep, request: Request) -> Response:
    m = request.app.state.metrics
    held = {s.origin: s.last_seq for s in log.summaries(session)}
    lags: dict[str, int] = {}
    for theirs in peers.heads_seen(session).values():
        for head in theirs.origins:
            lags[head.origin] = max(
                lags.get(head.origin, 0), head.last_seq - held.get(head.origin, 0)
            )
    for origin, lag in lags.items():
        m.lag.labels(origin=origin).set(max(0, lag))
    for state in peers.every(session).values():
        m.peer_up.labels(peer=state.node_id).set(1 if state.healthy else 0)
        m.peer_failures.labels(peer=state.node_id).set(state.failures)
    for origin, count in per_origin(session).items():
        m.alarms.labels(origin=origin).set(count)
    m.quarantined.set(quarantine.total(session))
    return Response(m.exposition(), media_type=CONTENT_TYPE_LATEST)
