"""Subscribable iCalendar feeds of events: ``/events.ics`` and its per-region and
per-member forms. See docs/CALENDAR.md.

Calendar clients poll a subscription every few minutes to hours, forever, so the common
answer must be a ``304`` that costs almost nothing. The validator is therefore computed
without building the feed: every change to any record advances one origin's sequence
number (``origin_sequences``), so a hash of that small table, the normalised filters and
the day (the window of past events moves daily) changes whenever the feed could. It is a
*weak* validator: it is derived from the inputs, not from the bytes (a tz database update
changes VTIMEZONE bytes without a write), and If-None-Match compares weakly anyway.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, date
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from federation.canonical import b64url
from node.api.admin_writes import RecordIdPath
from node.db import entries, feeds
from node.db.session import Session
from node.deps import RuntimeDep, SessionDep
from node.entries import item
from node.errors import NotFound
from node.feeds.calendar import FeedInfo, Filters, build_calendar, feed_name, filename
from node.problem_docs import responses
from node.runtime import Runtime
from node.settings import NodeSettings
from schemas.event import EventKind
from schemas.geo import REGION_LABELS, Region

router = APIRouter(tags=["calendar"], responses=responses(404, 422))

MAX_FEED_EVENTS = 1000  # per feed; upcoming events are kept first, then the latest past ones
# Past events stay in the feed this long after they end. A subscribed calendar mirrors the
# feed, so an event that leaves the window also leaves subscribers' calendars.
HISTORY_DAYS = 365
CACHE_CONTROL = "public, max-age=300"
MEDIA_TYPE = "text/calendar; charset=utf-8"
# Bump when the feed's bytes change for the same data (a new property, a new layout), so
# that validators issued by the previous code stop matching.
FEED_FORMAT = 1
# Built feeds kept in memory (per process, LRU), for clients that poll unconditionally:
# bounded by bytes, not count, as feeds range from a few hundred bytes to about a megabyte.
BUILT_FEEDS_BYTES = 32 * 1024 * 1024

Topic = Annotated[
    str | None,
    Query(
        max_length=60,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 &+/-]*$",
        description="Events tagged with this topic (case-insensitive)",
    ),
]
Kind = Annotated[EventKind | None, Query(description="Only this kind of event")]
IfNoneMatch = Annotated[str | None, Header(description="ETags of copies the client holds")]
_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_ETAG = re.compile(r'(?:W/)?"([^"]*)"')

_FEED_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {}}, "description": "An iCalendar (RFC 5545) feed"},
    304: {"description": "The copy named in If-None-Match is current"},
}


class BuiltFeeds:
    """The last feeds built, by validator. Many clients poll without If-None-Match, and a
    large feed takes icalendar a good part of a second to build; while nothing changes,
    their polls then cost one hash lookup too. LRU, bounded by the bodies' total size (a
    body larger than the whole budget is not kept); one per app (``app.state``)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0  # bytes held
        self._feeds: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()  # sync routes run on a thread pool

    def __len__(self) -> int:
        return len(self._feeds)

    def get(self, etag: str) -> bytes | None:
        with self._lock:
            body = self._feeds.get(etag)
            if body is not None:
                self._feeds.move_to_end(etag)
            return body

    def put(self, etag: str, body: bytes) -> None:
        with self._lock:
            old = self._feeds.pop(etag, None)
            if old is not None:
                self.size -= len(old)
            if len(body) > self.max_bytes:
                return
            self._feeds[etag] = body
            self.size += len(body)
            while self.size > self.max_bytes:
                _, evicted = self._feeds.popitem(last=False)
                self.size -= len(evicted)


def built_feeds(request: Request) -> BuiltFeeds:
    state = request.app.state
    feeds: BuiltFeeds | None = getattr(state, "calendar_feeds", None)
    if feeds is None:  # a race here only builds a second, equivalent, empty cache
        feeds = state.calendar_feeds = BuiltFeeds(BUILT_FEEDS_BYTES)
    return feeds


BuiltFeedsDep = Annotated[BuiltFeeds, Depends(built_feeds)]


def is_head(request: Request) -> bool:
    return request.method == "HEAD"


HeadDep = Annotated[bool, Depends(is_head)]
_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Response])


def feed_route(path: str) -> Callable[[_Endpoint], _Endpoint]:
    """GET and HEAD of a feed: one endpoint, two routes, so that each method has its own
    OpenAPI operation id (one route with both methods would give both the same id)."""
    get = router.get(path, response_class=Response, responses=_FEED_RESPONSES)
    head = router.head(
        path,
        response_class=Response,
        responses=_FEED_RESPONSES,
        summary="The feed's headers, without its body",
        description="What GET answers (status, ETag, Content-Type, Content-Length...), "
        "without the body, for link checkers and clients probing a subscription.",
    )

    def register(endpoint: _Endpoint) -> _Endpoint:
        return head(get(endpoint))

    return register


@feed_route("/events.ics")
def events_feed(
    session: SessionDep,
    runtime: RuntimeDep,
    built: BuiltFeedsDep,
    head: HeadDep,
    region: Region | None = None,
    organizer: Annotated[
        str | None, Query(pattern=_UUID, description="Events organized by this member")
    ] = None,
    topic: Topic = None,
    kind: Kind = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """Events as an iCalendar feed: upcoming ones and those of the past year."""
    filters = Filters(
        region=region.value if region else None,
        organizer=organizer,
        topic=_topic(topic),
        kind=kind.value if kind else None,
    )
    return feed(session, runtime, built, filters, if_none_match=if_none_match, head=head)


@feed_route("/regions/{region}/events.ics")
def region_feed(
    session: SessionDep,
    runtime: RuntimeDep,
    built: BuiltFeedsDep,
    head: HeadDep,
    region: Annotated[Region, Path()],
    topic: Topic = None,
    kind: Kind = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The same feed as ``/events.ics?region=…``."""
    filters = Filters(
        region=region.value,
        topic=_topic(topic),
        kind=kind.value if kind else None,
    )
    return feed(session, runtime, built, filters, if_none_match=if_none_match, head=head)


@feed_route("/members/{member_id}/events.ics")
def member_feed(
    session: SessionDep,
    runtime: RuntimeDep,
    built: BuiltFeedsDep,
    head: HeadDep,
    member_id: RecordIdPath,
    topic: Topic = None,
    kind: Kind = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The same feed as ``/events.ics?organizer=…``."""
    filters = Filters(
        organizer=member_id,
        topic=_topic(topic),
        kind=kind.value if kind else None,
    )
    return feed(session, runtime, built, filters, if_none_match=if_none_match, head=head)


@feed_route("/events/{event_id}.ics")
def event_file(
    session: SessionDep,
    runtime: RuntimeDep,
    head: HeadDep,
    event_id: RecordIdPath,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """One event as an iCalendar file: the event page's "Add to calendar". Its UID and
    SEQUENCE are the feeds' own, so a calendar that also subscribes to a feed holding
    the event keeps one copy, and a later edit updates it."""
    row = entries.one(session, kind="event", record_id=event_id)
    if row is None:
        raise NotFound(f"no event {event_id}")
    event = item(row, "event")
    settings = runtime.settings
    state = [FEED_FORMAT, settings.node_id, settings.url, event_id, event["version"]]
    digest = hashlib.sha256(json.dumps(state, separators=(",", ":")).encode()).digest()
    etag = f'W/"{b64url(digest[:18])}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if if_none_match is not None and etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    name = str(event["title"])
    headers["Content-Disposition"] = f'attachment; filename="{filename([name])}"'
    organizers = entries.member_names(
        session, ids={event["organizer"]} if event.get("organizer") else set()
    )
    info = FeedInfo(
        name=name,
        description=f"{name}: an event of the healthnet directory, served by {settings.name}",
        site=settings.url,
        source=f"{settings.url}/events/{event_id}.ics",
    )
    today = runtime.clock().astimezone(UTC).date()
    body = build_calendar(info, [event], organizers=organizers, today=today)
    if head:
        headers["Content-Length"] = str(len(body))
        return Response(media_type=MEDIA_TYPE, headers=headers)
    return Response(body, media_type=MEDIA_TYPE, headers=headers)


def feed(
    session: Session,
    runtime: Runtime,
    built: BuiltFeeds,
    filters: Filters,
    *,
    if_none_match: str | None,
    head: bool = False,
) -> Response:
    settings = runtime.settings
    # The organizer is looked up first: an unknown one is a 404 even for a client that
    # sends "If-None-Match: *" (which matches any *existing* representation).
    organizer_name = _member_name(session, filters.organizer) if filters.organizer else None
    today = runtime.clock().astimezone(UTC).date()
    etag = feed_etag(session, settings, filters, today)
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if if_none_match is not None and etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = f'inline; filename="{filters.filename()}"'
    body = built.get(etag)
    if body is None:
        body = _build(session, settings, filters, organizer_name=organizer_name, today=today)
        built.put(etag, body)
    if head:  # HEAD: GET's headers, Content-Length included (the feed is built for it)
        headers["Content-Length"] = str(len(body))
        return Response(media_type=MEDIA_TYPE, headers=headers)
    return Response(body, media_type=MEDIA_TYPE, headers=headers)


def _build(
    session: Session,
    settings: NodeSettings,
    filters: Filters,
    *,
    organizer_name: str | None,
    today: date,
) -> bytes:
    rows = feeds.window(
        session,
        region=filters.region,
        organizer=filters.organizer,
        category=filters.kind,
        topic=filters.topic,
        today=today,
        limit=MAX_FEED_EVENTS,
        history_days=HISTORY_DAYS,
    )
    events = [item(r, "event") for r in rows]
    organizers = entries.member_names(
        session, ids={e["organizer"] for e in events if e.get("organizer")}
    )
    name = feed_name(
        settings.name,
        kind=filters.kind,
        region_label=REGION_LABELS[Region(filters.region)] if filters.region else None,
        organizer_name=organizer_name,
        topic=filters.topic,
    )
    info = FeedInfo(
        name=name,
        description=f"{name}: events of the healthnet directory, served by {settings.name}",
        site=settings.url,
        source=settings.url + filters.path(),
    )
    return build_calendar(info, events, organizers=organizers, today=today)


def feed_etag(session: Session, settings: NodeSettings, filters: Filters, today: date) -> str:
    """The validator, from one read of the per-origin sequence table (a row per node)."""
    sequences = feeds.sequences(session)
    state = [
        FEED_FORMAT,
        MAX_FEED_EVENTS,
        settings.node_id,
        HISTORY_DAYS,
        settings.name,
        settings.url,
        filters.query_string(),
        today.isoformat(),
        [[origin, seq] for origin, seq in sequences],
    ]
    digest = hashlib.sha256(json.dumps(state, separators=(",", ":")).encode()).digest()
    return f'W/"{b64url(digest[:18])}"'


def etag_matches(header: str, etag: str) -> bool:
    """If-None-Match per RFC 9110 13.1.2: ``*`` or a list of entity tags, compared weakly
    (``W/"x"`` matches ``"x"``). A comma may sit inside a quoted tag, hence the regex."""
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/").strip('"')
    return any(tag == wanted for tag in _ETAG.findall(header))


def _topic(topic: str | None) -> str | None:
    """Stored topics are lower case (schemas.fields); a filter matches them whatever its case."""
    return topic.strip().lower() if topic else None


def _member_name(session: Session, member_id: str) -> str:
    """The organizer a feed is named after; a feed of an unknown organizer is a 404."""
    found = entries.member_names(session, ids={member_id})
    if member_id not in found:
        raise NotFound(f"no member {member_id}")
    return found[member_id]
