"""iCalendar (RFC 5545) feeds of events: one VEVENT per event record. Pure: no I/O, no clock.

The choices, and why:

- ``UID`` is ``<record id>@healthnet``. A record id is a UUID given once by the record's
  origin and carried unchanged by every node and every version, so a subscriber who gets
  the same event from two nodes, or after an edit, keeps one event, not two.
- ``SEQUENCE`` is the record's version: every signed update increments it, which is what
  tells a client that its copy is out of date.
- ``DTSTAMP`` and ``LAST-MODIFIED`` are the record's signed ``issued_at``, never "now".
  Without a ``METHOD``, DTSTAMP is when the information was last revised (RFC 5545
  3.8.7.2), and the bytes of a feed then depend only on the data and the day, which is
  what lets the router validate caches without building the feed.
- Start and end are the organizer's wall-clock time with a ``TZID``, and every TZID used
  gets a ``VTIMEZONE``, so a client can show "09:00 in Amsterdam" as it was announced.
  An event far from today (see ``ZONE_YEARS_BACK``/``AHEAD``) is written in UTC instead,
  which keeps every VTIMEZONE a few years long whatever dates an editor types.

``Filters`` names a feed (its canonical URL), for the router and for pages that link to it.

icalendar is imported by the functions that build a feed, not by this module: about 3 MB
that a worker need not hold until someone subscribes (issue 13's 120 MB per worker).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pycountry

from schemas.instants import parse_utc

if TYPE_CHECKING:
    from icalendar import Event, Timezone, vText

PRODID = "-//healthnet//event feed//EN"
UID_DOMAIN = "healthnet"
# Years around today within which an event keeps its TZID; outside, it is written in UTC.
ZONE_YEARS_BACK = 5
ZONE_YEARS_AHEAD = 30
REFRESH = timedelta(hours=1)  # what the feed suggests to clients (REFRESH-INTERVAL)

_SECOND = timedelta(seconds=1)
# Control characters other than tab and line breaks are not allowed in iCalendar TEXT
# (RFC 5545 3.3.11), and icalendar passes them through; line breaks it escapes itself.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class FeedInfo:
    """What a feed says about itself. ``site`` is the node's public base URL (event pages
    live at ``{site}/e/{id}``); ``source`` is the feed's own canonical URL."""

    name: str
    description: str
    site: str
    source: str


@dataclass(frozen=True)
class Filters:
    """What a feed selects, normalised (region and kind values, topic in lower case)."""

    region: str | None = None
    organizer: str | None = None
    topic: str | None = None
    kind: str | None = None

    def query_string(self) -> str:
        """The canonical query: fixed order, no empty values. It names the feed (SOURCE)
        and enters the validator, so both URL forms of one feed share both."""
        return urlencode([(k, v) for k, v in asdict(self).items() if v is not None])

    def path(self) -> str:
        """The canonical URL path of this feed, with its query."""
        query = self.query_string()
        return "/events.ics" + (f"?{query}" if query else "")

    def filename(self) -> str:
        return filename([self.region, self.kind, self.topic, self.organizer])


def uid(record_id: str) -> str:
    return f"{record_id}@{UID_DOMAIN}"


def feed_name(
    node_name: str,
    *,
    kind: str | None = None,
    region_label: str | None = None,
    organizer_name: str | None = None,
    topic: str | None = None,
) -> str:
    """A calendar name that says what was subscribed to, e.g. "Webinars on innovation in
    Europe (Radboud UMC)": clients list subscriptions by this name alone."""
    label = f"{kind.capitalize()}s" if kind else "Events"
    if topic:
        label += f" on {topic}"
    if region_label:
        label += f" in {region_label}"
    if organizer_name:
        label += f" by {organizer_name}"
    return f"{label} ({node_name})"


def build_calendar(
    feed: FeedInfo,
    events: Sequence[Mapping[str, Any]],
    *,
    organizers: Mapping[str, str],
    today: date,
) -> bytes:
    """The feed as bytes. ``events`` are events as the JSON API serves them (signed body
    plus ``id``, ``version``, ``updated_at``, ``starts_at_utc``, ``ends_at_utc``), in the
    order they should appear; ``organizers`` maps member ids to names."""
    from icalendar import Calendar, vDuration

    cal = Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    # Free text goes in as vText: icalendar writes an untyped X- property unescaped, and a
    # name with a line break (a member's name may have one) would break the feed.
    cal.add("NAME", text(feed.name))
    cal.add("X-WR-CALNAME", text(feed.name))
    cal.add("DESCRIPTION", text(feed.description))
    cal.add("X-WR-CALDESC", text(feed.description))
    cal.add("SOURCE", feed.source, parameters={"VALUE": "URI"})
    cal.add("REFRESH-INTERVAL", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("X-PUBLISHED-TTL", vDuration(REFRESH))  # an X- property is text by default
    years: dict[str, tuple[int, int]] = {}
    vevents = []
    for data in events:
        start, end = _span(data, today)
        vevent = _vevent(data, start, end, feed=feed, organizers=organizers)
        # icalendar writes zones that are always UTC (Etc/UTC, Africa/Abidjan...) with "Z"
        # and no TZID; only a TZID actually written needs a VTIMEZONE.
        tzid = vevent["DTSTART"].params.get("TZID")
        if tzid is not None:
            low, high = years.get(tzid, (start.year, end.year))
            years[tzid] = (min(low, start.year), max(high, end.year))
        vevents.append(vevent)
    # VTIMEZONEs first (a reader may need them before the first TZID), in a fixed order so
    # the same data always gives the same bytes.
    for tzid in sorted(years):
        cal.add_component(vtimezone(tzid, *years[tzid]))
    for vevent in vevents:
        cal.add_component(vevent)
    out: bytes = cal.to_ical()
    return out


def _span(data: Mapping[str, Any], today: date) -> tuple[datetime, datetime]:
    """Start and end in the event's zone, or in UTC when too far from today (see above).

    Wall-clock times are read with fold=0, the first occurrence of a repeated time, which
    is how ``schemas.event.to_utc`` derived ``starts_at_utc``: the instants agree."""
    zone = ZoneInfo(data["timezone"])
    start = datetime.fromisoformat(data["starts_at"]).replace(tzinfo=zone)
    end = datetime.fromisoformat(data["ends_at"]).replace(tzinfo=zone)
    if start.year < today.year - ZONE_YEARS_BACK or end.year > today.year + ZONE_YEARS_AHEAD:
        return _instant(data["starts_at_utc"]), _instant(data["ends_at_utc"])
    return start, end


def _instant(value: str) -> datetime:
    return (
        parse_utc(value).replace(microsecond=0)
    )


def _vevent(
    data: Mapping[str, Any],
    start: datetime,
    end: datetime,
    *,
    feed: FeedInfo,
    organizers: Mapping[str, str],
) -> Event:
    from icalendar import Event

    page = f"{feed.site}/e/{data['id']}"
    revised = _instant(data["updated_at"])
    event = Event()
    event.add("UID", uid(data["id"]))
    event.add("DTSTAMP", revised)
    event.add("LAST-MODIFIED", revised)
    event.add("SEQUENCE", int(data["version"]))
    event.add("DTSTART", start)
    event.add("DTEND", end)
    event.add("SUMMARY", text(data["title"]))
    event.add("STATUS", "CANCELLED" if data.get("status") == "cancelled" else "CONFIRMED")
    event.add("URL", data.get("registration_url") or data.get("online_url") or page)
    event.add("LOCATION", text(location(data)))
    venue = data.get("venue") or {}
    if venue.get("latitude") is not None and venue.get("longitude") is not None:
        event.add("GEO", (venue["latitude"], venue["longitude"]))
    if data.get("topics"):
        event.add("CATEGORIES", list(data["topics"]))
    if data.get("online_url"):
        # RFC 7986: clients that know CONFERENCE show a "join" button.
        event.add(
            "CONFERENCE",
            data["online_url"],
            parameters={"VALUE": "URI", "FEATURE": "VIDEO", "LABEL": "Join online"},
        )
    event.add("DESCRIPTION", text(_description(data, page, organizers)))
    return event


def text(value: str) -> vText:
    from icalendar import vText

    return vText(_CONTROL.sub("", value))


def location(data: Mapping[str, Any]) -> str:
    """Venue name, city and country name (clients geocode this text), else "Online"."""
    venue = data.get("venue")
    if not venue:
        return "Online"
    country = pycountry.countries.get(alpha_2=venue["country"])
    country_name = (
        getattr(country, "common_name", None) or country.name if country else venue["country"]
    )
    parts = [venue.get("name"), venue["city"], country_name]
    return ", ".join(p for p in parts if p)


def _description(data: Mapping[str, Any], page: str, organizers: Mapping[str, str]) -> str:
    lines = ["This event is CANCELLED.", ""] if data.get("status") == "cancelled" else []
    if data.get("description"):
        lines += [data["description"], ""]
    facts = [str(data["kind"]).capitalize()]
    if data.get("language"):
        facts.append(f"language: {data['language']}")
    lines.append(" · ".join(facts))
    organizer = data.get("organizer")
    if organizer:
        lines.append(f"Organized by {organizers.get(organizer, organizer)}")
    if data.get("registration_url"):
        lines.append(f"Register: {data['registration_url']}")
    if data.get("online_url"):
        lines.append(f"Online: {data['online_url']}")
    lines.append(f"Details: {page}")
    return "\n".join(lines)


@lru_cache(maxsize=512)
def vtimezone(tzid: str, first_year: int, last_year: int) -> Timezone:
    """The VTIMEZONE of an IANA zone, covering ``first_year`` to ``last_year`` inclusive.

    Cached and shared between feeds (nothing mutates it after this function). icalendar
    7.x writes the onset of a *forward* change as the first wall-clock time after the gap
    (03:00 for Europe's spring change), but RFC 5545 3.6.5 reads DTSTART with TZOFFSETFROM,
    i.e. as the local time before the change (02:00): left as is, a client would start
    summer time an hour late. Each onset is therefore recomputed from the zone itself, which
    also keeps this right if icalendar changes its convention.
    """
    from icalendar import Timezone

    zone = ZoneInfo(tzid)
    component = Timezone.from_tzinfo(
        zone, tzid=tzid, first_date=date(first_year, 1, 1), last_date=date(last_year + 1, 1, 1)
    )
    for sub in component.subcomponents:
        before, after = sub.TZOFFSETFROM, sub.TZOFFSETTO
        sub.DTSTART = _onset(sub.DTSTART, before, after, zone)
        rdates = [_onset(d, before, after, zone) for d, _ in sub.rdates]
        if rdates:
            del sub["RDATE"]
            sub.add("RDATE", rdates)
    return component


def _onset(local: datetime, before: timedelta, after: timedelta, zone: ZoneInfo) -> datetime:
    """An observance onset as RFC 5545 wants it: local time in the offset *before* it.

    ``local`` is read both ways (before and after the change); the reading at which the
    zone really changes from ``before`` to ``after`` is the instant, written back in
    ``before``. An artificial first onset (no change) is kept as it is."""
    for offset in (before, after):
        instant = (local - offset).replace(tzinfo=UTC)
        changes = (instant - _SECOND).astimezone(zone).utcoffset() == before
        if changes and instant.astimezone(zone).utcoffset() == after and before != after:
            return (instant + before).replace(tzinfo=None)
    return local


def subscribe_links(site: str, path: str) -> dict[str, str]:
    """Links to a feed for pages: ``webcal:`` makes browsers hand the feed to the calendar
    app as a subscription (not a one-off import); the http(s) form is for clients that
    ask for a URL (e.g. "add calendar from URL")."""
    url = f"{site}{path}"
    return {"url": url, "webcal": "webcal://" + url.split("://", 1)[1]}


def filename(parts: Sequence[str | None]) -> str:
    """A safe ``Content-Disposition`` file name from the feed's filters."""
    words = ["events", *(p for p in parts if p)]
    slug = re.sub(r"[^a-z0-9]+", "-", "-".join(words).lower()).strip("-")
    return f"{slug[:80].rstrip('-')}.ics"
