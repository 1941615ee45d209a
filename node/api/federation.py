"""The sync protocol's HTTP side (docs/PROTOCOL.md, "Sync"), the operator's status view
and the Prometheus endpoint.

Pages are assembled from the stored canonical texts without parsing them, so serving a
page costs about one string join per record.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import func, select

from federation import digest
from federation.canonical import sha256_tag
from node import roster
from node.db.tables import QUARANTINE, RECORDS, SEQUENCES, Peer, Quarantine
from node.deps import RuntimeDep, SessionDep
from node.errors import InvalidInput, NotFound
from node.problems import responses
from node.sync import Syncer
from schemas.record import MAX_SAFE_INTEGER, Envelope
from schemas.sync import MAX_PAGE_RECORDS, Heads, Nudge, OriginHead, RangeDigest, RecordPage

router = APIRouter(
    prefix="/federation", tags=["federation"], responses=responses(404, 413, 422, 429)
)
metrics_router = APIRouter(tags=["node"])

NodeIdQuery = Annotated[str, Query(pattern=r"^hn-[a-z2-7]{24}$")]


def _syncer(request: Request) -> Syncer:
    syncer: Syncer = request.app.state.syncer
    return syncer


@router.get("/heads", response_model=Heads)
def heads(session: SessionDep, runtime: RuntimeDep, request: Request) -> Heads:
    """Per origin: the dense prefix held (1..last_seq), its chain head, count and digest."""
    rows = session.execute(
        select(SEQUENCES).where(SEQUENCES.c.last_seq > 0).order_by(SEQUENCES.c.origin)
    ).all()
    trust = _syncer(request).trust
    return Heads(
        node=runtime.settings.node_id,
        roster_version=trust.version if trust else 0,
        origins=[
            OriginHead(
                origin=r.origin, last_seq=r.last_seq, head=r.head, count=r.count, digest=r.digest
            )
            for r in rows
        ],
    )


@router.get("/records", response_model=RecordPage)
def records(
    session: SessionDep,
    origin: NodeIdQuery,
    after: Annotated[
        int, Query(ge=0, le=MAX_SAFE_INTEGER, description="Exclusive: the page starts at after + 1")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_RECORDS)] = 500,
) -> Response:
    """Records of ``origin`` with seq in (after, after + limit], ascending and dense.

    Superseded versions come as stubs (body null): they keep the chain verifiable.
    """
    rows = session.execute(
        select(RECORDS.c.header, RECORDS.c.body, RECORDS.c.sig)
        .where(RECORDS.c.origin == origin, RECORDS.c.seq > after)
        .order_by(RECORDS.c.seq)
        .limit(limit)
    ).all()
    last = session.execute(
        select(SEQUENCES.c.last_seq).where(SEQUENCES.c.origin == origin)
    ).scalar_one_or_none()
    items = ",".join(
        f'{{"record":{h},"body":{b if b is not None else "null"},"sig":"{s}"}}' for h, b, s in rows
    )
    text = f'{{"origin":"{origin}","after":{after},"last_seq":{last or 0},"records":[{items}]}}'
    return Response(text, media_type="application/json")


@router.get("/roster", response_model=Envelope)
def roster_record(session: SessionDep, request: Request) -> Response:
    """The newest roster this node holds, as the hub signed it."""
    trust = _syncer(request).trust
    if trust is None:
        raise NotFound("this node holds no roster")
    row = session.execute(
        select(RECORDS.c.header, RECORDS.c.body, RECORDS.c.sig).where(
            RECORDS.c.origin == trust.hub,
            RECORDS.c.record_id == roster.roster_id(trust.hub),
            RECORDS.c.current.is_(True),
        )
    ).first()
    if row is None or row[1] is None:
        raise NotFound("this node holds no roster")
    return Response(
        f'{{"record":{row[0]},"body":{row[1]},"sig":"{row[2]}"}}', media_type="application/json"
    )


class NudgeAccepted(BaseModel):
    accepted: bool


@router.post("/nudge", status_code=202, response_model=NudgeAccepted)
async def nudge(body: Nudge, request: Request, runtime: RuntimeDep) -> NudgeAccepted:
    """A peer has new records: pull from it soon. Only a hint; it carries no data."""
    client = request.client.host if request.client else "unknown"
    runtime.nudge_limiter.hit(client, now=runtime.monotonic())
    return NudgeAccepted(accepted=_syncer(request).nudged(body))


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
    rows = session.execute(
        select(RECORDS.c.header).where(
            RECORDS.c.origin == origin, RECORDS.c.seq >= from_seq, RECORDS.c.seq <= to_seq
        )
    ).scalars()
    elements = []
    for header in rows:
        data = json.loads(header)
        elements.append(digest.element(data["id"], data["version"], sha256_tag(header.encode())))
    return RangeDigest(
        origin=origin,
        from_seq=from_seq,
        to_seq=to_seq,
        count=len(elements),
        digest=digest.combine(elements),
    )


@router.get("/status")
def status(session: SessionDep, runtime: RuntimeDep, request: Request) -> dict[str, Any]:
    """The operator's view: per peer health, per origin lag and digest agreement, alarms."""
    return federation_status(session, runtime.settings.node_id, _syncer(request))


def federation_status(session: Any, me: str, syncer: Syncer) -> dict[str, Any]:
    trust = syncer.trust
    held = {
        r.origin: r
        for r in session.execute(select(SEQUENCES).where(SEQUENCES.c.last_seq > 0)).all()
    }
    states = {p.node_id: p for p in session.execute(select(Peer)).scalars()}
    by_reason = dict(
        session.execute(
            select(QUARANTINE.c.reason, func.count()).group_by(QUARANTINE.c.reason)
        ).all()
    )
    alarms = [
        {"origin": q.origin, "seq": q.seq, "peer": q.peer, "at": q.at, "detail": q.detail}
        for q in session.execute(
            select(Quarantine).where(QUARANTINE.c.reason == "equivocation").limit(50)
        ).scalars()
    ]
    peers = []
    for node in syncer.peers():
        state = states.get(node.node_id)
        theirs = syncer.heads.get(node.node_id)
        origins = {}
        for head in theirs.origins if theirs else []:
            mine = held.get(head.origin)
            origins[head.origin] = {
                "their_last_seq": head.last_seq,
                "lag": max(0, head.last_seq - (mine.last_seq if mine else 0)),
                "agrees": bool(
                    mine and mine.last_seq == head.last_seq and mine.digest == head.digest
                ),
            }
        peers.append(
            {
                "node_id": node.node_id,
                "name": node.name,
                "region": node.region.value,
                "url": node.url,
                "healthy": bool(state and state.failures == 0 and state.last_success),
                "last_success": state.last_success if state else None,
                "last_attempt": state.last_attempt if state else None,
                "failures": state.failures if state else 0,
                "next_attempt": state.next_attempt if state else None,
                "last_error": state.last_error if state else "",
                "records_in": state.records_in if state else 0,
                "origins": origins,
            }
        )
    names = {n.node_id: n.name for n in trust.nodes.values()} if trust else {}
    return {
        "node": me,
        "hub": trust.hub if trust else None,
        "roster_version": trust.version if trust else 0,
        "origins": [
            {
                "origin": o,
                "name": names.get(o, ""),
                "last_seq": r.last_seq,
                "count": r.count,
                "head": r.head,
                "digest": r.digest,
            }
            for o, r in sorted(held.items())
        ],
        "peers": peers,
        "quarantine": {"total": sum(by_reason.values()), "by_reason": by_reason},
        "alarms": alarms,
    }


@metrics_router.get("/metrics", response_class=Response)
def metrics(session: SessionDep, request: Request) -> Response:
    m = request.app.state.metrics
    syncer = _syncer(request)
    held = {r.origin: r.last_seq for r in session.execute(select(SEQUENCES)).all()}
    lags: dict[str, int] = {}
    for theirs in syncer.heads.values():
        for head in theirs.origins:
            lags[head.origin] = max(
                lags.get(head.origin, 0), head.last_seq - held.get(head.origin, 0)
            )
    for origin, lag in lags.items():
        m.lag.labels(origin=origin).set(max(0, lag))
    for state in session.execute(select(Peer)).scalars():
        m.peer_up.labels(peer=state.node_id).set(
            1 if state.failures == 0 and state.last_success else 0
        )
        m.peer_failures.labels(peer=state.node_id).set(state.failures)
    m.quarantined.set(session.execute(select(func.count()).select_from(Quarantine)).scalar_one())
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
