"""The North-American data set of bench/node.py and bench/feeds.py, written as CSV.

Members and events go through ``healthnet import`` as CSV files, as an operator would
load them; extra members are kept as admin-API bodies for the HTTP write test. From a
fixed seed, so two runs import the same rows.
"""

from __future__ import annotations

import csv
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchlib.app import MemberBody, canonical_bytes
from benchlib.cities import load_cities
from benchlib.columns import EVENT_COLUMNS, MEMBER_COLUMNS
from benchlib.events import gen_event
from benchlib.members import gen_member, member_csv_row, member_json_body


@dataclass
class Dataset:
    members_csv: Path
    events_csv: Path
    extra_members: list[dict[str, Any]]  # JSON bodies for the HTTP write test
    sample_body: bytes  # canonical bytes of a typical member body (~600 B)
    seconds: float


def generate(root: Path, *, members: int, events: int, extra: int, seed: int) -> Dataset:
    """``members`` members (the rare one half way) and ``events`` events as CSV in ``root``,
    every fifth member an organizer; ``extra`` more members as admin-API bodies."""
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
