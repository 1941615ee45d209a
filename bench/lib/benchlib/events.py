"""Generated events: conferences, workshops, meetups and webinars of generated members.

An event takes its organizer's city, coordinates and IANA time zone, and starts 3-720
days ahead between 08:00 and 16:30 local time (never in a DST gap), so the calendar
feeds build real VTIMEZONEs and the import validates real local times.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from benchlib.columns import EVENT_COLUMNS
from benchlib.members import TOPICS, slug

EVENT_WORDS = ("Summit", "Forum", "Symposium", "Day", "Conference", "Exchange")


def gen_event(
    rng: random.Random, i: int, organizers: Sequence[dict[str, Any]], today: date
) -> dict[str, str]:
    org = rng.choice(organizers)
    kind = rng.choices(("conference", "webinar", "workshop", "meetup"), (25, 30, 25, 20))[0]
    topic = rng.choice(TOPICS)
    start_day = today + timedelta(days=rng.randint(3, 720))
    start = datetime(
        start_day.year, start_day.month, start_day.day, rng.randint(8, 15), rng.choice((0, 30))
    )
    if kind == "conference":
        end = (start + timedelta(days=rng.randint(0, 2))).replace(hour=17, minute=30)
        title = f"{org['city']} Health Social Media {rng.choice(EVENT_WORDS)} {start.year}"
    elif kind == "webinar":
        end = start + timedelta(minutes=rng.choice((45, 60, 90)))
        title = f"Webinar: {topic.capitalize()} at {org['name']}"
    elif kind == "workshop":
        end = start + timedelta(hours=rng.randint(2, 3))
        title = f"Workshop on {topic} in {org['city']}"
    else:
        end = start + timedelta(hours=2)
        title = f"{org['city']} Digital Health Meetup #{rng.randint(1, 120)}"
    lang = org["languages"][0]
    row = {c: "" for c in EVENT_COLUMNS}
    row.update(
        key=f"e{i:07d}",
        title=title[:200],
        description=f"{title}, hosted by {org['name']}. Topics: {topic}.",
        kind=kind,
        starts_at=start.strftime("%Y-%m-%dT%H:%M"),
        ends_at=end.strftime("%Y-%m-%dT%H:%M"),
        timezone=org["_tz"],
        organizer_key=org["key"],
        language=lang,
        registration_url=f"https://events.example.org/{slug(org['name'])}/{i}",
        topics=";".join({topic, rng.choice(TOPICS)}),
        status="cancelled" if rng.random() < 0.03 else "scheduled",
    )
    if kind == "webinar" or rng.random() < 0.1:
        row["online_url"] = f"https://meet.example.org/{slug(title)}-{i}"
    if kind != "webinar":
        row.update(
            venue_name=f"{org['name']} Conference Hall"[:120],
            venue_city=org["city"],
            venue_country=org["country"],
            venue_latitude=str(round(org["latitude"] + rng.uniform(-0.01, 0.01), 5)),
            venue_longitude=str(round(org["longitude"] + rng.uniform(-0.01, 0.01), 5)),
        )
    return row
