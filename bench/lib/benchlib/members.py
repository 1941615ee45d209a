"""Generated member organisations: names, kinds, topics, languages, social accounts.

The mix is chosen for the searches: about a third of the names contain "health" (with
topics and descriptions, two thirds of the members match it), ``car`` is a common
3-letter prefix, and one distinctive member (``RARE_NAME``) is a one-match query. Keys
are stable (``m0000001``), so importing the same file twice changes nothing.
"""

from __future__ import annotations

import random
import re
import unicodedata
from datetime import date, timedelta
from typing import Any

from benchlib.app import Region
from benchlib.cities import City
from benchlib.columns import MEMBER_COLUMNS

RARE_NAME = "Quillfeather Zenobia Pediatric Institute"

SURNAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Roberts Tremblay Gagnon Roy Côté Bouchard Gauthier Morin Lavoie Fortin Gagné Ouellet "
    "Pelletier Bélanger Lévesque Núñez Ibáñez Peña Castañeda Jiménez Guzmán"
).split()
SAINTS = "Mary Joseph Luke Francis Vincent Anthony Jude Elizabeth Catherine Michael Patrick".split()
SPECIALTIES = (
    "Cardiology|Pediatric|Oncology|Orthopedic|Women's|Family Medicine|Behavioral|Dermatology|"
    "Eye|Kidney|Rehabilitation|Sports Medicine|Urgent Care|Dental|Diabetes|Sleep|Cancer|Heart|"
    "Spine|Neurology|Primary Care|Maternity"
).split("|")
CONDITIONS = (
    "Diabetes|Cancer|Heart|Alzheimer's|Arthritis|Asthma|Epilepsy|Lupus|Autism|Parkinson's|"
    "Kidney|Cystic Fibrosis|Rare Disease|Mental Health"
).split("|")
TOPICS = (
    "patient engagement|social media|innovation|research|education|public health|"
    "digital health|telehealth|mental health|nutrition|cardiology|oncology|pediatrics|"
    "primary care|health equity|patient safety|nursing|pharmacy|rural health|health policy|"
    "ai|wearables|clinical trials|genomics|community outreach|caregiving|health literacy"
).split("|")
SPANISH = {"MX", "GT", "HN", "SV", "NI", "CR", "PA", "CU", "DO", "PR"}
FRENCH = {"HT", "GP", "MQ", "BL", "MF", "PM"}


def slug(text: str) -> str:
    """ASCII, lower-case, dash-separated: for the generated web sites, handles and URLs."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60] or "org"


def _languages(rng: random.Random, country: str) -> list[str]:
    if country in SPANISH:
        return ["es", "en"] if rng.random() < 0.3 else ["es"]
    if country in FRENCH:
        return ["fr"]
    if country == "CA":
        return ["fr", "en"] if rng.random() < 0.25 else ["en"]
    return ["en", "es"] if rng.random() < 0.2 else ["en"]


def _member_name(rng: random.Random, city: City) -> tuple[str, str]:
    """(name, kind). Roughly a third of names contain the word "health"."""
    sur, saint, spec = rng.choice(SURNAMES), rng.choice(SAINTS), rng.choice(SPECIALTIES)
    spanish = city.country in SPANISH
    roll = rng.random()
    if roll < 0.10:
        return rng.choice(
            (
                f"{city.name} Health System",
                f"{sur} Health",
                f"St. {saint} Health",
                f"{city.name} Health Partners",
            )
        ), "health-system"
    if roll < 0.35:
        if spanish:
            return rng.choice(
                (f"Hospital General de {city.name}", f"Hospital {sur}", f"Hospital San {saint}")
            ), "hospital"
        return rng.choice(
            (
                f"{city.name} General Hospital",
                f"{sur} Memorial Hospital",
                f"St. {saint} Hospital",
                f"{city.name} Regional Medical Center",
            )
        ), "hospital"
    if roll < 0.40:
        return rng.choice(
            (
                f"University of {city.name} Medical Center",
                f"{city.name} University Health Sciences Centre",
            )
        ), "academic-medical-centre"
    if roll < 0.75:
        if spanish and rng.random() < 0.5:
            return f"Clínica {sur} de {city.name}", "clinic"
        return rng.choice(
            (
                f"{sur} Family Clinic",
                f"{city.name} {spec} Clinic",
                f"{spec} Associates of {sur}",
                f"{city.name} Community Health Center",
                f"{sur} {spec} Health Clinic",
            )
        ), "clinic"
    if roll < 0.85:
        cond = rng.choice(CONDITIONS)
        return rng.choice(
            (f"{city.name} {cond} Patient Alliance", f"{cond} Foundation of {city.name}")
        ), "patient-organization"
    if roll < 0.90:
        return f"{spec} Society of {city.name}", "professional-society"
    return rng.choice(
        (
            f"{city.name} Public Health Department",
            f"{sur} Health Foundation",
            f"{city.name} Telehealth Network",
            f"{sur} Care Collective",
        )
    ), "other"


def gen_member(rng: random.Random, i: int, cities: list[City], cum: list[float]) -> dict[str, Any]:
    city = rng.choices(cities, cum_weights=cum)[0]
    name, kind = _member_name(rng, city)
    if i == -1:
        name, kind = RARE_NAME, "academic-medical-centre"
    s = slug(name)
    topics = rng.sample(TOPICS, rng.randint(1, 4))
    role_roll = rng.random()
    role = (
        "hub"
        if role_roll < 0.005
        else "community-leader"
        if role_roll < 0.025
        else "charter-member"
        if role_roll < 0.075
        else "member"
    )
    social = [("x", f"@{s.replace('-', '')[:15]}")]
    if rng.random() < 0.6:
        social.append(("linkedin", f"https://www.linkedin.com/company/{s}"))
    if rng.random() < 0.3:
        social.append(("youtube", f"https://www.youtube.com/@{s}"))
    return {
        "key": f"m{i:07d}" if i >= 0 else "rare-0001",
        "name": name,
        "kind": kind,
        "country": city.country,
        "city": city.name,
        "latitude": round(city.lat + rng.uniform(-0.05, 0.05), 5),
        "longitude": round(city.lon + rng.uniform(-0.05, 0.05), 5),
        "website": f"https://www.{s}.org",
        "social": social,
        "topics": topics,
        "languages": _languages(rng, city.country),
        "network_role": role,
        "joined": (date(2010, 1, 1) + timedelta(days=rng.randint(0, 5800))).isoformat(),
        "contact_email": f"info@{s}.org" if rng.random() < 0.5 else "",
        "description": (
            f"{name} serves patients in {city.name}, {city.country}, with a focus on "
            f"{' and '.join(topics[:2])}."
        ),
        "_tz": city.tz,
    }


def member_csv_row(m: dict[str, Any]) -> list[str]:
    flat = dict(m)
    flat["social"] = "; ".join(f"{p}:{t}" for p, t in m["social"])
    flat["topics"] = ";".join(m["topics"])
    flat["languages"] = ";".join(m["languages"])
    return [str(flat[c]) for c in MEMBER_COLUMNS]


def member_json_body(m: dict[str, Any]) -> dict[str, Any]:
    """The same member as an admin-API body (what ``POST /admin/members`` takes)."""
    body: dict[str, Any] = {
        k: m[k]
        for k in (
            "name",
            "kind",
            "country",
            "city",
            "latitude",
            "longitude",
            "website",
            "topics",
            "languages",
            "network_role",
            "joined",
            "description",
        )
    }
    body["region"] = Region.NORTH_AMERICA.value
    body["social"] = [
        {"platform": p, ("url" if t.startswith("https://") else "handle"): t}
        for p, t in m["social"]
    ]
    if m["contact_email"]:
        body["contact"] = {"email": m["contact_email"]}
    return body
