"""The event model family: conferences, webinars, workshops and meetups.

Start and end are wall-clock times in the event's IANA time zone, because that is what an
organizer announces ("9:00 in Rochester"). The UTC instants are derived, never signed, so a
time-zone database update can never invalidate a signature.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from schemas.fields import (
    Country,
    Language,
    Latitude,
    Longitude,
    LongText,
    Name,
    ShortText,
    Topics,
    Url,
    reject_nul_unless_checked,
)
from schemas.geo import Region, check_timezone, coordinate_pair, country_in_region


class EventKind(StrEnum):
    CONFERENCE = "conference"
    WEBINAR = "webinar"
    WORKSHOP = "workshop"
    MEETUP = "meetup"


class Attendance(StrEnum):
    """How one takes part: a filter over ``online_url`` and ``venue``, not a field of its
    own, so a hybrid event (both) is found under either."""

    ONLINE = "online"
    IN_PERSON = "in_person"


class EventStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")


def _check_local(value: str) -> str:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("not a date-time; use YYYY-MM-DDTHH:MM[:SS]") from exc
    if parsed.tzinfo is not None:
        raise ValueError("give a wall-clock time without offset; the zone goes in 'timezone'")
    if not _LOCAL.match(value):
        raise ValueError("use the form YYYY-MM-DDTHH:MM[:SS]")
    return value


LocalDateTime = Annotated[str, StringConstraints(max_length=40), AfterValidator(_check_local)]
TimeZoneName = Annotated[str, StringConstraints(max_length=64), AfterValidator(check_timezone)]


def to_utc(local: str, zone: str) -> datetime:
    """The UTC instant of a wall-clock time. A repeated time (clocks going back) is its
    first occurrence."""
    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _exists(local: str, info: ValidationInfo) -> str:
    """Reject a wall-clock time that the clock skips (e.g. 02:30 on a spring-forward day)."""
    zone = info.data.get("timezone")
    if zone is None:
        return local
    wall = datetime.fromisoformat(local)
    back = to_utc(local, zone).astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    if back != wall:
        raise ValueError(f"{local} does not exist in {zone} (the clocks skip it)")
    return local


class Venue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortText | None = None
    city: ShortText
    country: Country
    latitude: Latitude | None = None
    longitude: Longitude | None = Field(default=None, validate_default=True)

    @field_validator("longitude")
    @classmethod
    def _pair(cls, value: float | None, info: ValidationInfo) -> float | None:
        return coordinate_pair(value, info)


class EventBody(BaseModel):
    """What the origin signs for an event. Field names are part of the wire contract.

    Fields validate in declaration order, and the cross-field checks are field validators
    reading ``info.data``, so every error names the field at fault.
    """

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any, info: ValidationInfo) -> Any:
        return reject_nul_unless_checked(data, info)

    title: Name
    description: LongText | None = None
    kind: EventKind
    region: Region
    timezone: TimeZoneName
    starts_at: LocalDateTime
    ends_at: LocalDateTime
    online_url: Url | None = None
    venue: Venue | None = Field(default=None, validate_default=True)
    organizer: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    topics: Topics = []
    language: Language | None = None
    registration_url: Url | None = None
    status: EventStatus = EventStatus.SCHEDULED

    @field_validator("starts_at")
    @classmethod
    def _start_exists(cls, value: str, info: ValidationInfo) -> str:
        return _exists(value, info)

    @field_validator("ends_at")
    @classmethod
    def _end_after_start(cls, value: str, info: ValidationInfo) -> str:
        _exists(value, info)
        zone, start = info.data.get("timezone"), info.data.get("starts_at")
        if zone is not None and start is not None and to_utc(value, zone) <= to_utc(start, zone):
            raise ValueError("ends_at must be after starts_at")
        return value

    @field_validator("venue")
    @classmethod
    def _where(cls, value: Venue | None, info: ValidationInfo) -> Venue | None:
        if value is None and info.data.get("online_url") is None and "online_url" in info.data:
            raise ValueError("an event needs an online_url, a venue, or both")
        if value is not None:
            country_in_region(value.country, info.data.get("region"))
        return value

    def utc_span(self) -> tuple[datetime, datetime]:
        return to_utc(self.starts_at, self.timezone), to_utc(self.ends_at, self.timezone)


class EventCreate(EventBody):
    """Admin input for a new event or a full replacement (PUT)."""


class EventPublic(EventBody):
    id: str
    origin: str
    version: int
    updated_at: str
    starts_at_utc: str
    ends_at_utc: str
