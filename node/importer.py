"""Bulk import of members or events from CSV, .xlsx or JSONL.

Files are read by ``node.sheets`` (encodings as Excel writes them, ``,``/``;``/tab
delimiters, headers in any order and case). The header is checked once, before any row:
a missing ``key`` column or an unknown column (a typo would silently drop that column's
data) is one error naming the expected columns, and nothing is imported.

Each row carries a stable external ``key``; the record id is a UUIDv5 of (node, kind, key),
so importing the same file twice finds the same records and, where nothing changed, writes
nothing. A bad row is reported with its line number, field and reason, and the good rows are
kept: rows are committed in batches (each one transaction: a killed import leaves whole
batches only, and re-running it finishes the job), an event whose organizer is unknown is
set aside before its batch is signed, and a batch that fails as a whole is retried row by
row to isolate the culprit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from federation.errors import HealthnetError
from federation.keys import SigningKey
from node.db.imports import known_members_batched
from node.db.session import Engine, Session, writer
from node.db.setup import refresh_statistics
from node.errors import InvalidInput
from node.import_rows import read_rows
from node.publisher import Draft, Mode, publish
from schemas.event import EventBody
from schemas.member import MemberBody

NAMESPACE = uuid.UUID("8d6f1f2e-52a4-4d0c-9c8e-7f1b2a3c4d5e")
BATCH = 1000


def record_id(origin: str, kind: str, key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{origin}/{kind}/{key}"))


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.reason}"


@dataclass
class Report:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return self.created + self.updated + self.unchanged

    @property
    def rejected_rows(self) -> int:
        """Rows refused (a row with three bad fields is one row)."""
        return len({e.line for e in self.errors})


@dataclass(frozen=True)
class Parsed:
    line: int
    key: str
    body: dict[str, Any]


def validate(
    raw: dict[str, Any], *, line: int, kind: str, origin: str, region: str
) -> Parsed | list[RowError]:
    data = dict(raw)
    key = str(data.pop("key", "") or "").strip()
    if not key:
        return [RowError(line, "key", "required: a stable external key for this row")]
    data.setdefault("region", region)
    if kind == "event" and data.get("organizer_key"):
        data["organizer"] = record_id(origin, "member", str(data.pop("organizer_key")))
    model: type[BaseModel] = MemberBody if kind == "member" else EventBody
    try:
        body = model.model_validate(data).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        return [
            RowError(
                line,
                ".".join(str(p) for p in e["loc"]) or "row",
                str(e["msg"]).removeprefix("Value error, "),
            )
            for e in exc.errors()
        ]
    if body["region"] != region:
        return [RowError(line, "region", f"this node publishes {region} records only")]
    return Parsed(line, key, body)


def run_import(
    engine: Engine,
    *,
    path: Path,
    kind: str,
    key: SigningKey,
    origin: str,
    region: str,
    clock: Callable[[], datetime],
    progress: Callable[[int], None] = lambda n: None,
) -> Report:
    report = Report()
    seen: dict[str, int] = {}
    batch: list[Parsed] = []
    for line, raw in read_rows(path, kind):
        if isinstance(raw, InvalidInput):
            report.errors.extend(RowError(line, name, reason) for name, reason in raw.errors)
            progress(1)
            continue
        parsed = validate(raw, line=line, kind=kind, origin=origin, region=region)
        if isinstance(parsed, list):
            report.errors.extend(parsed)
            progress(1)
            continue
        if parsed.key in seen:
            report.errors.append(
                RowError(
                    line, "key", f"duplicate key {parsed.key!r} (first on line {seen[parsed.key]})"
                )
            )
            progress(1)
            continue
        seen[parsed.key] = line
        batch.append(parsed)
        if len(batch) >= BATCH:
            _flush(engine, batch, report, kind=kind, key=key, origin=origin, clock=clock)
            progress(len(batch))
            batch = []
    if batch:
        _flush(engine, batch, report, kind=kind, key=key, origin=origin, clock=clock)
        progress(len(batch))
    report.errors.sort(key=lambda e: e.line)
    if report.created or report.updated:
        refresh_statistics(engine)  # the planner must know the directory grew
    return report


def _flush(
    engine: Engine,
    batch: list[Parsed],
    report: Report,
    *,
    kind: str,
    key: SigningKey,
    origin: str,
    clock: Callable[[], datetime],
) -> None:
    try:
        _commit(engine, batch, report, kind=kind, key=key, origin=origin, clock=clock)
    except _RowFailed as exc:
        if len(batch) == 1:
            report.errors.append(RowError(batch[0].line, exc.field, exc.reason))
            return
        for one in batch:  # isolate the bad row; each good one still lands
            try:
                _commit(engine, [one], report, kind=kind, key=key, origin=origin, clock=clock)
            except _RowFailed as exc:
                report.errors.append(RowError(one.line, exc.field, exc.reason))


class _RowFailed(InvalidInput):
    """A batch the database refused, naming the row's field at fault; ``_flush`` retries
    the batch row by row to find the culprit. Never leaves this module."""

    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason
        super().__init__([(field, reason)])


def _commit(
    engine: Engine,
    batch: list[Parsed],
    report: Report,
    *,
    kind: str,
    key: SigningKey,
    origin: str,
    clock: Callable[[], datetime],
) -> None:
    with Session(writer(engine)) as session:
        unknown: list[RowError] = []
        if kind == "event":
            batch, unknown = _check_organizers(session, batch)
        drafts = [Draft(kind, record_id(origin, kind, p.key), Mode.UPSERT, p.body) for p in batch]
        try:
            outcomes = publish(session, key=key, origin=origin, drafts=drafts, now=clock())
        except HealthnetError as exc:
            raise _RowFailed("key", str(exc)) from exc
        session.commit()
    report.errors.extend(unknown)
    for outcome in outcomes:
        if not outcome.changed:
            report.unchanged += 1
        elif outcome.previous_version is None:
            report.created += 1
        else:
            report.updated += 1


def _check_organizers(session: Session, batch: list[Parsed]) -> tuple[list[Parsed], list[RowError]]:
    """The rows whose organizer is in the directory, and an error for each other row: an
    event must name a member that exists, and its batch-mates are not held up by it."""
    wanted = {p.body["organizer"] for p in batch if p.body.get("organizer")}
    if not wanted:
        return batch, []
    found = known_members_batched(session, record_ids=wanted)
    kept: list[Parsed] = []
    errors: list[RowError] = []
    for p in batch:
        if p.body.get("organizer") and p.body["organizer"] not in found:
            errors.append(RowError(p.line, "organizer", "no such member in the directory"))
        else:
            kept.append(p)
    return kept, errors
