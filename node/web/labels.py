"""Words for the codes the pages show: kinds, roles, platforms, countries, languages. Pure.

The records hold stable codes (``academic-medical-centre``, ``NL``, ``nl``); a reader wants
"Academic medical centre", "Netherlands", "Dutch". Country and language names come from
pycountry's ISO 3166 and ISO 639 tables, shipped with the package (nothing is fetched).
An unknown code is shown as itself rather than hidden.
"""

from __future__ import annotations

from functools import lru_cache

import pycountry

_WORDS: dict[str, str] = {
    # member kinds
    "health-system": "Health system",
    "hospital": "Hospital",
    "academic-medical-centre": "Academic medical centre",
    "clinic": "Clinic",
    "patient-organization": "Patient organization",
    "professional-society": "Professional society",
    "other": "Other",
    # network roles
    "hub": "Hub",
    "community-leader": "Community leader",
    "charter-member": "Charter member",
    "member": "Member",
    # event kinds
    "conference": "Conference",
    "webinar": "Webinar",
    "workshop": "Workshop",
    "meetup": "Meetup",
    # ways to take part
    "online": "Online",
    "in_person": "In person",
    # platforms
    "x": "X",
    "facebook": "Facebook",
    "youtube": "YouTube",
    "linkedin": "LinkedIn",
    "instagram": "Instagram",
    "mastodon": "Mastodon",
    "blog": "Blog",
}


def label(code: object) -> str:
    """The reader's word for a kind, role or platform code."""
    text = str(code)
    return _WORDS.get(text, text)


@lru_cache(maxsize=512)
def country_name(code: str) -> str:
    """``NL`` -> ``Netherlands`` (the common name where ISO gives one)."""
    country = pycountry.countries.get(alpha_2=code.upper()) if len(code) == 2 else None
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)


@lru_cache(maxsize=512)
def language_name(tag: str) -> str:
    """A BCP 47 tag in words: ``nl`` -> ``Dutch``, ``pt-BR`` -> ``Portuguese (Brazil)``."""
    primary, _, rest = tag.partition("-")
    field = {2: "alpha_2", 3: "alpha_3"}.get(len(primary))
    language = pycountry.languages.get(**{field: primary.lower()}) if field else None
    if language is None:
        return tag
    name = str(language.name)
    region = rest.split("-")[-1] if rest else ""
    if len(region) == 2 and region.isalpha():
        return f"{name} ({country_name(region)})"
    return name
