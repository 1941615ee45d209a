"""Events: the public calendar (``/events``) and the admin writes (``/admin/events``)."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response

from node.api.admin_writes import RecordIdPath, admin_router
from node.api.reads import EventPage, check_limit, one, page_response
from node.db.search import COUNT_CAP, search
from node.db.search import Query as Search
from node.deps import RuntimeDep, SessionDep
from node.entries import normal_language
from node.errors import InvalidInput
from node.problem_docs import responses
from node.writes import organizer_exists
from schemas.event import Attendance, EventCreate, EventKind, EventPublic
from schemas.geo import Region
from schemas.instants import format_utc, parse_utc

public = APIRouter(prefix="/events", tags=["events"], responses=responses(404, 422))


def _instant(value: str | None, field: str) -> str | None:
    """A date (``2027-03-01``, midnight UTC) or a date-time with offset, as a UTC string.

    Stored instants have whole seconds, so a fraction is rounded *up*: for whole-second
    ``t``, ``t >= x`` and ``t < x`` do not change when ``x`` is replaced by ``ceil(x)``.
    """
    if value is None:
        return None
    try:
        parsed = parse_utc(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        if parsed.microsecond:
            parsed = parsed.replace(microsecond=0) + timedelta(seconds=1)
        return format_utc(parsed)
    except (ValueError, OverflowError) as exc:
        raise InvalidInput([(field, "expected a date or an ISO 8601 date-time")]) from exc


@public.get("", response_model=EventPage)
def list_events(
    session: SessionDep,
    runtime: RuntimeDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    region: Region | None = None,
    country: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$")] = None,
    kind: EventKind | None = None,
    topic: Annotated[str | None, Query(max_length=60)] = None,
    language: Annotated[str | None, Query(max_length=35)] = None,
    organizer: Annotated[str | None, Query(max_length=64)] = None,
    attendance: Annotated[
        Attendance | None,
        Query(description="online or in_person; a hybrid event is found under either"),
    ] = None,
    from_: Annotated[
        str | None, Query(alias="from", max_length=40, description="Events running at or after")
    ] = None,
    to: Annotated[str | None, Query(max_length=40, description="Events starting before")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    cursor: Annotated[str | None, Query(max_length=600)] = None,
    count: bool = False,
) -> Response:
    ends_after = _instant(from_, "query.from")
    starts_before = _instant(to, "query.to")
    if ends_after is None and starts_before is None:
        # Upcoming by default: anything not over before today (UTC), so a running conference
        # still shows. A day, not "now": the instant is part of the cursor's query, and a
        # cursor must stay valid while a client pages (it would not if "now" moved).
        today = runtime.clock().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        ends_after = format_utc(today)
    query = Search(
        kind="event",
        limit=check_limit(limit, runtime.settings.max_page_size),
        q=q,
        region=region.value if region else None,
        country=country.upper() if country else None,
        category=kind.value if kind else None,
        topic=topic.strip().lower() if topic else None,
        language=normal_language(language),
        organizer=organizer,
        attendance=attendance.value if attendance else None,
        ends_after=ends_after,
        starts_before=starts_before,
    )
    return page_response(
        search(session, query, cursor=cursor, count=count, count_cap=COUNT_CAP), "event"
    )


@public.get("/{event_id}", responses={200: {"model": EventPublic}})
def get_event(event_id: RecordIdPath, session: SessionDep) -> Response:
    return one(session, kind="event", record_id=event_id)


admin = admin_router("event", EventCreate, check=organizer_exists)
