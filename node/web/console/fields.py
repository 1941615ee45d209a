"""The console's record forms: flat form fields <-> the bodies the node signs.

A form's fields are the import file's columns (``node.import_rows``: ``contact_email``,
``venue_city``, ``topics`` as ``a; b``), so a leader who knows one knows the other, and
one conversion serves both. Validation is the models' own, as for the API and the import,
so the three never disagree on what is valid; only the error's field is renamed to the
form field that shows it.

Pure: no database, no request.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pycountry
from pydantic import BaseModel, ValidationError

from node.errors import InvalidInput
from node.import_rows import LIST_SEP, csv_event, csv_member
from schemas.event import EventCreate, EventKind, EventStatus
from schemas.geo import Region, countries_in
from schemas.member import MemberCreate, MemberKind, NetworkRole

MEMBER_FIELDS = (
    "name", "kind", "country", "city", "latitude", "longitude", "website", "social",
    "topics", "languages", "network_role", "joined", "contact_name", "contact_email",
    "contact_phone", "contact_url", "description",
)  # fmt: skip
EVENT_FIELDS = (
    "title", "kind", "status", "starts_at", "ends_at", "timezone", "online_url",
    "venue_name", "venue_city", "venue_country", "venue_latitude", "venue_longitude",
    "organizer", "language", "topics", "registration_url", "description",
)  # fmt: skip
FIELDS = {"member": MEMBER_FIELDS, "event": EVENT_FIELDS}
MODELS: dict[str, type[BaseModel]] = {"member": MemberCreate, "event": EventCreate}


@dataclass(frozen=True)
class Parsed:
    """A form read: the model to write, or the (field, reason) pairs that stop it."""

    model: BaseModel | None
    errors: list[tuple[str, str]]


def _text(values: Mapping[str, Any], name: str) -> str:
    value = values.get(name)
    return value.strip() if isinstance(value, str) else ""


def read(kind: str, values: Mapping[str, Any], *, region: Region) -> Parsed:
    """Check a submitted form. Multi-valued fields (``languages``) arrive joined."""
    flat = {name: _text(values, name) for name in FIELDS[kind]}
    if kind == "member":
        # One social account per line in the form, ``;`` between them in a file.
        flat["social"] = LIST_SEP.join(line for line in flat["social"].splitlines() if line)
    try:
        raw = csv_member(flat) if kind == "member" else csv_event(flat)
    except InvalidInput as exc:
        return Parsed(None, exc.errors)
    raw["region"] = region.value  # a node writes its own region's records only
    try:
        return Parsed(MODELS[kind].model_validate(raw), [])
    except ValidationError as exc:
        return Parsed(None, errors(exc))


def errors(exc: ValidationError) -> list[tuple[str, str]]:
    """Pydantic's errors under the form field that shows each (``contact.email`` →
    ``contact_email``, ``social.1.url`` → ``social``), once per field and reason."""
    found: list[tuple[str, str]] = []
    for error in exc.errors():
        loc = [p for p in error["loc"] if isinstance(p, str)]
        if len(loc) >= 2 and loc[0] in ("contact", "venue"):
            name = f"{loc[0]}_{loc[1]}"
        elif loc:
            name = "country" if loc[0] == "region" else loc[0]
        else:
            name = "form"
        reason = str(error["msg"]).removeprefix("Value error, ")
        if (name, reason) not in found:
            found.append((name, reason))
    return found


def flat(kind: str, body: Mapping[str, Any]) -> dict[str, str]:
    """A stored body as the form shows it (the inverse of ``read``)."""
    out = {name: "" for name in FIELDS[kind]}
    for name in FIELDS[kind]:
        value = body.get(name)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            out[name] = str(value)
    out["topics"] = f"{LIST_SEP} ".join(body.get("topics") or [])
    if kind == "member":
        out["languages"] = LIST_SEP.join(body.get("languages") or [])
        out["social"] = "\n".join(
            f"{a['platform']}:{a.get('url') or a.get('handle') or ''}"
            for a in body.get("social") or []
        )
        for key, value in (body.get("contact") or {}).items():
            out[f"contact_{key}"] = str(value)
    else:
        for key, value in (body.get("venue") or {}).items():
            out[f"venue_{key}"] = str(value)
    return out


def changed(kind: str, mine: Mapping[str, str], theirs: Mapping[str, str]) -> list[str]:
    """The form fields whose values differ: what another edit changed meanwhile."""
    return [n for n in FIELDS[kind] if (mine.get(n) or "") != (theirs.get(n) or "")]


# -- pickers ----------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def countries(region: Region | None = None) -> list[tuple[str, str]]:
    """(code, name) of a region's countries, or of every country, by name."""
    codes = countries_in(region) if region is not None else [c.alpha_2 for c in pycountry.countries]
    named = []
    for code in codes:
        country = pycountry.countries.get(alpha_2=code)
        if country is not None:
            named.append((code, str(getattr(country, "common_name", None) or country.name)))
    return sorted(named, key=lambda pair: pair[1])


@lru_cache(maxsize=1)
def languages() -> list[tuple[str, str]]:
    """(code, name) of the ISO 639-1 languages (the two-letter codes the records use)."""
    found = [
        (str(lang.alpha_2), str(lang.name))
        for lang in pycountry.languages
        if getattr(lang, "alpha_2", None)
    ]
    return sorted(found, key=lambda pair: pair[1])


@lru_cache(maxsize=1)
def timezones() -> list[str]:
    """The IANA zones in ``Area/City`` form that this machine's tz database has."""
    zones = zoneinfo.available_timezones()
    return sorted(z for z in zones if "/" in z and not z.startswith("Etc/"))


def choices() -> dict[str, list[str]]:
    return {
        "member_kinds": [k.value for k in MemberKind],
        "roles": [r.value for r in NetworkRole],
        "event_kinds": [k.value for k in EventKind],
        "statuses": [s.value for s in EventStatus],
    }
