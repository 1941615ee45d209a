"""Search forms: every field checked, every problem reported at once, the form kept.

The API answers the first bad parameter with a 422 problem, which suits programs. A person
who mistyped two fields wants both named, next to the form as they filled it, so they can
fix them and search again. :class:`Form` runs the same checks as ``views`` (so the two
agree on what is valid) but collects the errors; the page then shows them above its form,
with status 422, instead of results.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TypeVar

import pycountry

from node.errors import InvalidInput
from node.web import paging, views
from schemas.instants import format_utc

T = TypeVar("T")


class Form:
    def __init__(self, params: dict[str, str]) -> None:
        self.params = params
        self.errors: list[tuple[str, str]] = []

    def _check(self, check: Callable[[], T]) -> T | None:
        try:
            return check()
        except InvalidInput as exc:
            self.errors.extend(exc.errors)
            return None

    def text(self, name: str, max_length: int) -> str | None:
        return self._check(lambda: views.text_param(self.params, name, max_length))

    def choice(self, name: str, allowed: type[StrEnum]) -> str | None:
        return self._check(lambda: views.choice_param(self.params, name, allowed))

    def country(self) -> str | None:
        """A two-letter code, or a country's name as people write it ("Netherlands")."""
        value = self.params.get("country", "").strip()
        if len(value) > 2:
            try:
                return str(pycountry.countries.lookup(value).alpha_2)
            except LookupError:
                pass
        return self._check(lambda: views.country_param(self.params))

    def since(self, now: datetime) -> str:
        found = self._check(lambda: views.since_param(self.params, now))
        return found if found is not None else views.since_param({}, now)

    def until(self) -> str | None:
        """``to``: the last day (YYYY-MM-DD) an event may start on; None for no limit.
        As an instant, the start of the day after, since the filter is "starts before"."""
        value = self.params.get("to", "").strip()
        if not value:
            return None
        try:
            day = date.fromisoformat(value)
            return format_utc(datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC))
        except (ValueError, OverflowError):
            self.errors.append(("to", "a date, e.g. 2027-03-31"))
            return None

    def paging(self) -> None:
        """``page`` and ``trail``, which the page links carry (node/web/paging.py)."""
        self._check(lambda: paging.page_number(self.params))
        self._check(lambda: paging.trail_of(self.params))

    def fail(self, exc: InvalidInput) -> None:
        """Add the errors a later step found (a cursor from another search, say)."""
        self.errors.extend(exc.errors)
