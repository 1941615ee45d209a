"""What importing a file would do, told before anything is written (the console's preview).

The rows are read and validated by the very functions the import runs
(``import_rows.read_rows``, ``importer.validate``), and each good row is then put to
``publisher.decide``, the function ``publish`` itself asks, against what the store holds
now: so "new", "changed" and "unchanged" here are what ``run_import`` will report for the
same file and the same database, not a second opinion that could drift from it. The checks
the import makes only at commit time (an id another origin owns, an event's organizer that
is not in the directory) are made here too, with the same reasons.

``classify`` is pure: it takes what the store holds (``Held``) and the organizers that
exist. ``preview`` is the one function that asks the database, through ``node.db.imports``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from federation.errors import HealthnetError
from node import import_rows, importer
from node.db.imports import Held, held, known_members_batched
from node.db.session import Session
from node.errors import InvalidInput
from node.importer import Parsed, RowError, record_id
from node.publisher import Draft, Mode, decide


@dataclass
class Checked:
    """A file read and validated: its good rows, and every bad one's errors."""

    rows: list[Parsed] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    file_problem: bool = False  # the file as a whole (encoding, header) cannot be imported


@dataclass
class Preview:
    kind: str
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    file_problem: bool = False

    @property
    def importable(self) -> int:
        """The rows the import would take (unchanged ones included: they write nothing)."""
        return self.new + self.changed + self.unchanged

    @property
    def rejected_rows(self) -> int:
        return len({e.line for e in self.errors})


def check(path: Path, *, kind: str, origin: str, region: str) -> Checked:
    """Read and validate every row as ``run_import`` does, duplicates of a key included."""
    checked = Checked()
    seen: dict[str, int] = {}
    for line, raw in import_rows.read_rows(path, kind):
        if isinstance(raw, InvalidInput):
            checked.errors.extend(RowError(line, name, reason) for name, reason in raw.errors)
            # read_rows says a whole-file problem once, on line 1, and yields nothing else.
            checked.file_problem = checked.file_problem or any(
                name in ("file", "key", "columns") for name, _ in raw.errors
            )
            continue
        parsed = importer.validate(raw, line=line, kind=kind, origin=origin, region=region)
        if isinstance(parsed, list):
            checked.errors.extend(parsed)
            continue
        if parsed.key in seen:
            first = seen[parsed.key]
            reason = f"duplicate key {parsed.key!r} (first on line {first})"
            checked.errors.append(RowError(line, "key", reason))
            continue
        seen[parsed.key] = line
        checked.rows.append(parsed)
    checked.file_problem = checked.file_problem and not checked.rows
    return checked


def ids_of(checked: Checked, *, kind: str, origin: str) -> list[str]:
    return [record_id(origin, kind, p.key) for p in checked.rows]


def organizers_of(checked: Checked) -> set[str]:
    return {str(p.body["organizer"]) for p in checked.rows if p.body.get("organizer")}


def classify(
    checked: Checked, *, kind: str, origin: str, stored: Held, members: Iterable[str] = ()
) -> Preview:
    """Each good row as new, changed or unchanged against ``stored``; a row the import
    would refuse at commit time becomes an error with the import's own reason."""
    result = Preview(kind, errors=list(checked.errors), file_problem=checked.file_problem)
    known = set(members)
    for row in checked.rows:
        rid = record_id(origin, kind, row.key)
        if rid in stored.foreign:
            owner = stored.foreign[rid]
            reason = f"id {rid} belongs to origin {owner}; only it can change that record"
            result.errors.append(RowError(row.line, "key", reason))
            continue
        organizer = row.body.get("organizer")
        if kind == "event" and organizer and organizer not in known:
            result.errors.append(RowError(row.line, "organizer", "no such member in the directory"))
            continue
        current = stored.current.get(rid)
        try:
            version = decide(Draft(kind, rid, Mode.UPSERT, row.body), current)
        except HealthnetError as exc:
            result.errors.append(RowError(row.line, "key", str(exc)))
            continue
        if version is None:
            result.unchanged += 1
        elif current is None:
            result.new += 1
        else:
            result.changed += 1  # a deleted record comes back as a new version: "updated"
    result.errors.sort(key=lambda e: e.line)
    return result


def preview(session: Session, path: Path, *, kind: str, origin: str, region: str) -> Preview:
    """What ``run_import`` would do with ``path`` now; reads the database, writes nothing."""
    checked = check(path, kind=kind, origin=origin, region=region)
    stored = held(session, origin=origin, record_ids=ids_of(checked, kind=kind, origin=origin))
    members = (
        known_members_batched(session, record_ids=organizers_of(checked))
        if kind == "event"
        else set()
    )
    return classify(checked, kind=kind, origin=origin, stored=stored, members=members)
