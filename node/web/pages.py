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
from federation.errors import WireFormatError
from federation.provenance import Check, KeyRing
from node.db import entries, facets, log, pins
from node.db.search import COUNT_CAP, Page, search
from node.db.search import Query as Search
from node.db.session import Session
from node.deps import KeysDep, RuntimeDep, SessionDep, StatusDep, TrustDep, get_runtime
from node.dialects import PageRoute
from node.entries import item, normal_language
from node.errors import InvalidInput, UnknownRecord
from node.feeds.calendar import Filters as FeedFilters
from node.feeds.calendar import subscribe_links
from node.runtime import Runtime
from node.sync.trustbook import TrustBook
from node.web import worldmap
from node.web.forms import Form
from node.web.labels import country_name, label, language_name
from node.web.paging import Pager, count_text, pager
from node.web.social import profile_url
from node.web.views import (
    RECORD_ID,
    by_month,
    event_view,
    query_params,
    safe_url,
)
from schemas.event import Attendance, EventKind
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
    form = Form(params)
    form.paging()
    query = Search(
        kind="member",
        limit=PAGE_SIZE,
        q=form.text("q", 200),
        region=form.choice("region", Region),
        country=form.country(),
        category=form.choice("kind", MemberKind),
        topic=(form.text("topic", 60) or "").lower() or None,
        language=normal_language(form.text("language", 35)),
    )
    page = _search(session, form, query)
    topics = facets.tag_values(session, kind="member", tag="topic")
    return render(
        request,
        "directory.html",
        {
            "title": "Directory",
            "params": params,
            "errors": form.errors,
            "kinds": [k.value for k in MemberKind],
            "members": [item(r, "member") for r in page.rows],
            "total": page.total,
            "total_text": count_text(page.total, capped=page.total_capped),
            "pager": _pager(params, page),
            "topics": topics,
            "near_topics": _near_topics(query.topic, topics) if not page.rows else [],
            "map": _member_map(session, query) if page.rows else None,
            "countries": facets.countries(session, kind="member"),
            "languages": facets.tag_values(session, kind="member", tag="language"),
        },
        status=422 if form.errors else 200,
    )


def _member_map(session: Session, query: Search) -> dict[str, Any]:
    """Every match with a place, as dots over the shipped land, framed on the dots (a search
    in one region shows that region, not the world)."""
    found = pins.pins(session, query)
    points = [worldmap.point(p.lat, p.lon) for p in found.pins]
    box = worldmap.frame(points)
    return {
        "box": " ".join(f"{v:g}" for v in box),
        "width": worldmap.WIDTH,
        "height": worldmap.HEIGHT,
        "radius": round(box[2] / 150, 2),  # the same size on screen at every zoom
        "dots": [{"pin": p, "x": x, "y": y} for p, (x, y) in zip(found.pins, points, strict=True)],
        "placed": found.placed,
        "placed_capped": found.placed_capped,
    }


def _search(session: Session, form: Form, query: Search) -> Page:
    """One page of results, or none when the form has errors (they are shown instead)."""
    if not form.errors:
        try:
            cursor = form.text("cursor", 600)
            return search(session, query, cursor=cursor, count=True, count_cap=COUNT_CAP)
        except InvalidInput as exc:
            form.fail(exc)
        except WireFormatError as exc:  # a cursor from another search, or an edited one
            form.errors.append(("cursor", f"{exc.reason}; start the search again"))
    return Page(rows=[], next_cursor=None, total=0)


def _pager(params: dict[str, str], page: Page) -> Pager | None:
    if not page.rows:
        return None
    return pager(
        params,
        next_cursor=page.next_cursor,
        shown=len(page.rows),
        total=page.total,
        total_capped=page.total_capped,
        page_size=PAGE_SIZE,
    )


def _near_topics(wanted: str | None, topics: list[str]) -> list[str]:
    """For a topic filter that found nothing: the topics in use that contain its words."""
    if not wanted:
        return []
    words = wanted.split()
    return [t for t in topics if all(w in t for w in words)][:8]


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
    form = Form(params)
    form.paging()
    since = form.since(runtime.clock())
    until = form.until()
    query = Search(
        kind="event",
        limit=PAGE_SIZE,
        q=form.text("q", 200),
        region=form.choice("region", Region),
        category=form.choice("kind", EventKind),
        topic=(form.text("topic", 60) or "").lower() or None,
        language=normal_language(form.text("language", 35)),
        attendance=form.choice("attendance", Attendance),
        ends_after=since,
        starts_before=until,
    )
    page = _search(session, form, query)
    events = [event_view(item(r, "event")) for r in page.rows]
    topics = facets.tag_values(session, kind="event", tag="topic")
    return render(
        request,
        "events.html",
        {
            "title": "Events",
            "params": params,
            "errors": form.errors,
            "kinds": [k.value for k in EventKind],
            "attendances": [a.value for a in Attendance],
            "months": by_month(events),
            "total": page.total,
            "total_text": count_text(page.total, capped=page.total_capped),
            "pager": _pager({**params, "from": since}, page),
            "topics": topics,
            "near_topics": _near_topics(query.topic, topics) if not page.rows else [],
            "languages": facets.tag_values(session, kind="event", tag="language"),
            "feed": subscribe_links(
                runtime.settings.url,
                FeedFilters(region=query.region, kind=query.category).path(),
            ),
        },
        status=422 if form.errors else 200,
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
