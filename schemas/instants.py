"""UTC instants as healthnet writes them: ``YYYY-MM-DDTHH:MM:SSZ``. Pure.

One format for every instant a node stores or serves (``issued_at``, ``updated_at``,
sync state, audit times), so that stored instants compare correctly as text and every
module parses what every other module writes.
"""

from __future__ import annotations

from datetime import UTC, datetime


def format_utc(instant: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` with a 4-digit year (strftime drops the zeros before 1000,
    which would break text ordering), truncated to the second."""
    u = instant.astimezone(UTC)
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}Z"


def parse_utc(text: str) -> datetime:
    """An aware UTC datetime from ISO 8601 text with ``Z`` or an offset. A text without an
    offset is read as UTC, as every stored instant is. Raises ValueError on other text."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
