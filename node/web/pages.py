"""The human-facing pages: server-rendered Jinja2, no JavaScript, no external assets.

Query parameters are taken as plain strings and checked here. The pages raise errors of
the tree like the API routes do; their routes are ``PageRoute``s, so ``node.problems``
answers those errors with the HTML error page (bad input: 422, an unknown id: 404)
instead of the JSON problem the API routes answer with.

Mounting (in ``create_app``)::

    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from federation import provenance
from federation.provenance import Check, KeyRing
from node.db import entries, log
from node.db.search import Page, search
from node.db.search import Query as Search
from node.db.session import Session
from node.deps import KeysDep, RuntimeDep, SessionDep, StatusDep, TrustDep, get_runtime
from node.entries import item, normal_language
from node.errors import UnknownRecord
from node.feeds.calendar import Filters as FeedFilters
from node.feeds.calendar import subscribe_links
from node.problems import PageRoute
from node.runtime import Runtime
from node.sync.trustbook import TrustBook
from node.web.labels import country_name, label, language_name
from node.web.paging import pager
from node.web.social import profile_url
from node.web.views import (
    RECORD_ID,
    by_month,
    choice_param,
    country_param,
    event_view,
    query_params,
    safe_url,
    since_param,
    text_param,
)
from schemas.event import EventKind
from schemas.geo import REGION_LABELS, Region
from schemas.instants import format_utc
from schemas.member import MemberKind

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=str(HERE / "templates"))

router = APIRouter(include_in_schema=False, route_class=PageRoute)

PAGE_SIZE = 20


templates.env.globals["safe_url"] = safe_url
templates.env.globals["profile_url"] = profile_url
templates.env.globals.update(label=label, country_name=country_name, language_name=language_name)
templates.env.globals["region_label"] = lambda r: (
    REGION_LABELS.get(Region(r), r) if r in set(Region) else r
)


def render(
    request: Request, name: str, context: dict[str, Any], *, status: int = 200
) -> HTMLResponse:
    settings = get_runtime(request).settings
    base = {
        "serving": {
            "name": settings.name,
            "region": REGION_LABELS.get(settings.region, settings.region.value),
            "node_id": settings.node_id,
        },
        "regions": [(r.value, REGION_LABELS[r]) for r in Region],
    }
    response: HTMLResponse = templates.TemplateResponse(
        request, name, {**base, **context}, status_code=status
    )
    return response


def _entry(session: Session, kind: str, record_id: str) -> dict[str, Any] | None:
    row = entries.one(session, kind=kind, record_id=record_id)
    return None if row is None else item(row, kind)


def _node_name(runtime: Runtime, trust: TrustBook, origin: str) -> str | None:
    """The name the roster gives an origin (this node's own name for its own records)."""
    if origin == runtime.settings.node_id:
        return runtime.settings.name
    node = trust.current.nodes.get(origin) if trust.current is not None else None
    return None if node is None else str(node.name)


def verify_stored(session: Session, keys: KeyRing, record_id: str) -> Check | None:
    """Re-check the current stored version of a record, as the FHIR view does (one
    function, so the page and FHIR agree, on a suspended origin too); None when no signed
    version is stored for it."""
    stored = log.current_signed(session, record_id=record_id)
    if stored is None:
        return None
    header, body, sig = stored
    return provenance.check(keys, header_text=header, sig=sig, body_text=body)


# -- routes ---------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def directory(request: Request, session: SessionDep) -> HTMLResponse:
    params = query_params(request)
    query = Search(
        kind="member",
        limit=PAGE_SIZE,
        q=text_param(params, "q", 200),
        region=choice_param(params, "region", Region),
        country=country_param(params),
        category=choice_param(params, "kind", MemberKind),
        topic=(text_param(params, "topic", 60) or "").lower() or None,
        language=normal_language(text_param(params, "language", 35)),
    )
    page: Page = search(session, query, cursor=text_param(params, "cursor", 600), count=True)
    return render(
        request,
        "directory.html",
        {
            "title": "Directory",
            "params": params,
            "kinds": [k.value for k in MemberKind],
            "members": [item(r, "member") for r in page.rows],
            "total": page.total,
            "pager": pager(
                params,
                next_cursor=page.next_cursor,
                shown=len(page.rows),
                total=page.total,
                page_size=PAGE_SIZE,
            ),
        },
    )


@router.get("/m/{member_id}", response_class=HTMLResponse)
def member_page(
    member_id: str,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    trust: TrustDep,
    keys: KeysDep,
) -> HTMLResponse:
    member = _entry(session, "member", member_id) if RECORD_ID.match(member_id) else None
    if member is None:
        raise UnknownRecord("member", member_id)
    upcoming = search(
        session,
        Search(
            kind="event",
            limit=50,
            organizer=member_id,
            ends_after=format_utc(runtime.clock()),
        ),
        cursor=None,
        count=False,
    )
    return render(
        request,
        "member.html",
        {
            "title": member["name"],
            "m": member,
            "origin_name": _node_name(runtime, trust, member["origin"]),
            "check": verify_stored(session, keys, member_id),
            "events": [event_view(item(r, "event")) for r in upcoming.rows],
            "feed": subscribe_links(runtime.settings.url, FeedFilters(organizer=member_id).path()),
        },
    )


@router.get("/e", response_class=HTMLResponse)
def events_page(request: Request, session: SessionDep, runtime: RuntimeDep) -> HTMLResponse:
    params = query_params(request)
    since = since_param(params, runtime.clock())
    query = Search(
        kind="event",
        limit=PAGE_SIZE,
        q=text_param(params, "q", 200),
        region=choice_param(params, "region", Region),
        category=choice_param(params, "kind", EventKind),
        ends_after=since,
    )
    page = search(session, query, cursor=text_param(params, "cursor", 600), count=True)
    events = [event_view(item(r, "event")) for r in page.rows]
    return render(
        request,
        "events.html",
        {
            "title": "Events",
            "params": params,
            "kinds": [k.value for k in EventKind],
            "months": by_month(events),
            "total": page.total,
            "pager": pager(
                {**params, "from": since},
                next_cursor=page.next_cursor,
                shown=len(page.rows),
                total=page.total,
                page_size=PAGE_SIZE,
            ),
            "feed": subscribe_links(
                runtime.settings.url,
                FeedFilters(region=query.region, kind=query.category).path(),
            ),
        },
    )


@router.get("/e/{event_id}", response_class=HTMLResponse)
def event_page(
    event_id: str, request: Request, session: SessionDep, runtime: RuntimeDep, trust: TrustDep
) -> HTMLResponse:
    event = _entry(session, "event", event_id) if RECORD_ID.match(event_id) else None
    if event is None:
        raise UnknownRecord("event", event_id)
    organizer = event.get("organizer")
    names = entries.member_names(session, ids={organizer} if organizer else set())
    return render(
        request,
        "event.html",
        {
            "title": event["title"],
            "e": event_view(event),
            "organizer_name": names.get(organizer) if organizer else None,
            "origin_name": _node_name(runtime, trust, event["origin"]),
        },
    )


@router.get("/n", response_class=HTMLResponse)
def node_page(request: Request, runtime: RuntimeDep, status: StatusDep) -> HTMLResponse:
    settings = runtime.settings
    return render(
        request,
        "node.html",
        {
            "title": "This node",
            "settings": settings,
            "region_name": REGION_LABELS.get(settings.region, settings.region.value),
            "key_id": runtime.key.key_id,
            "public_key": runtime.key.public_b64,
            "status": status,
        },
    )
