"""The Europe source node's members: generated rows in ``healthnet import`` CSV columns.

Real city coordinates (NL, DE, FR, BE, ...) jittered by up to 0.15°, several languages,
and a stable key per row, from a fixed seed: the full sync moves the same records on
every run.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from benchlib.columns import MEMBER_COLUMNS

# (country, city, latitude, longitude, languages)
EUROPE_CITIES = [
    ("NL", "Amsterdam", 52.3676, 4.9041, "nl;en"),
    ("NL", "Rotterdam", 51.9244, 4.4777, "nl;en"),
    ("NL", "Utrecht", 52.0907, 5.1214, "nl"),
    ("NL", "Nijmegen", 51.8126, 5.8372, "nl;en"),
    ("NL", "Groningen", 53.2194, 6.5665, "nl"),
    ("DE", "Berlin", 52.5200, 13.4050, "de;en"),
    ("DE", "Hamburg", 53.5511, 9.9937, "de"),
    ("DE", "München", 48.1351, 11.5820, "de"),
    ("DE", "Köln", 50.9375, 6.9603, "de"),
    ("DE", "Heidelberg", 49.3988, 8.6724, "de;en"),
    ("FR", "Paris", 48.8566, 2.3522, "fr;en"),
    ("FR", "Lyon", 45.7640, 4.8357, "fr"),
    ("FR", "Marseille", 43.2965, 5.3698, "fr"),
    ("FR", "Toulouse", 43.6047, 1.4442, "fr"),
    ("FR", "Lille", 50.6292, 3.0573, "fr"),
    ("BE", "Bruxelles", 50.8503, 4.3517, "fr;nl"),
    ("BE", "Leuven", 50.8798, 4.7005, "nl;en"),
    ("BE", "Gent", 51.0543, 3.7174, "nl"),
    ("ES", "Madrid", 40.4168, -3.7038, "es"),
    ("ES", "Barcelona", 41.3874, 2.1686, "ca;es"),
    ("IT", "Milano", 45.4642, 9.1900, "it"),
    ("IT", "Roma", 41.9028, 12.4964, "it"),
    ("SE", "Stockholm", 59.3293, 18.0686, "sv;en"),
    ("SE", "Göteborg", 57.7089, 11.9746, "sv"),
    ("DK", "København", 55.6761, 12.5683, "da;en"),
    ("AT", "Wien", 48.2082, 16.3738, "de"),
    ("CH", "Zürich", 47.3769, 8.5417, "de;en"),
    ("PL", "Warszawa", 52.2297, 21.0122, "pl"),
    ("PL", "Kraków", 50.0647, 19.9450, "pl"),
    ("CZ", "Praha", 50.0755, 14.4378, "cs"),
    ("IE", "Dublin", 53.3498, -6.2603, "en;ga"),
    ("PT", "Lisboa", 38.7223, -9.1393, "pt"),
    ("NO", "Oslo", 59.9139, 10.7522, "nb"),
    ("FI", "Helsinki", 60.1699, 24.9384, "fi;sv"),
    ("GB", "London", 51.5074, -0.1278, "en"),
    ("GB", "Manchester", 53.4808, -2.2426, "en"),
]
KINDS = ["hospital", "clinic", "health-system", "academic-medical-centre", "patient-organization"]
SPECIALTIES = (
    "Cardiology|Paediatric|Oncology|Orthopaedic|Women's Health|Family Medicine|Mental Health|"
    "Dermatology|Eye|Kidney|Rehabilitation|Sports Medicine|Diabetes|Neurology|Maternity"
).split("|")
PREFIXES = [
    "St. Elisabeth",
    "Sint Maartens",
    "Klinikum",
    "Centre Hospitalier",
    "Universitair",
    "Maria",
    "Diakonessen",
    "Karolinska",
    "Rijnstate",
    "Santa Maria",
    "Royal",
]
TOPICS = [
    "patient engagement",
    "social media",
    "innovation",
    "research",
    "education",
    "public health",
    "digital health",
    "telehealth",
    "mental health",
    "nursing",
]


def write_members_csv(path: Path, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(MEMBER_COLUMNS)
        for i in range(count):
            country, city, lat, lon, langs = rng.choice(EUROPE_CITIES)
            kind = rng.choice(KINDS)
            name = f"{rng.choice(PREFIXES)} {rng.choice(SPECIALTIES)} {city} {i}"
            topics = rng.sample(TOPICS, rng.randint(1, 3))
            out.writerow(
                [
                    f"m{i:07d}",
                    name,
                    kind,
                    country,
                    city,
                    f"{lat + rng.uniform(-0.15, 0.15):.5f}",
                    f"{lon + rng.uniform(-0.15, 0.15):.5f}",
                    f"https://www.member-{i}.example.org",
                    f"x:@hn{i}; linkedin:https://www.linkedin.com/company/hn-{i}",
                    ";".join(topics),
                    langs,
                    "member",
                    f"{rng.randint(2010, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    f"info@member-{i}.example.org" if i % 2 else "",
                    f"A {kind.replace('-', ' ')} in {city} that uses social media for {topics[0]}.",
                ]
            )
