"""The rows of an import file: its columns, and each row as a record body.

Files are read by ``node.sheets`` (encodings as Excel writes them, ``,``/``;``/tab
delimiters, headers in any order and case), JSON Lines here. The header is checked once,
before any row (``header_problem``): a missing ``key`` column or an unknown column (a typo
would silently drop that column's data) is one error naming the expected columns. Split
from ``node.importer``, which validates, signs and stores what these functions read.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from node import sheets
from node.errors import InvalidInput

LIST_SEP = ";"

# The columns csv_member and csv_event read: the one list, for them and the header check.
MEMBER_TEXT = ("key", "name", "kind", "region", "country", "city", "website",
               "network_role", "joined", "description")  # fmt: skip
MEMBER_CONTACT = ("name", "email", "phone", "url")
MEMBER_COLUMNS = (
    *MEMBER_TEXT, "latitude", "longitude", "topics", "languages", "social",
    *(f"contact_{k}" for k in MEMBER_CONTACT),
)  # fmt: skip
EVENT_TEXT = ("key", "title", "description", "kind", "starts_at", "ends_at", "timezone",
              "online_url", "organizer", "region", "language", "registration_url",
              "status")  # fmt: skip
EVENT_VENUE = ("name", "city", "country", "latitude", "longitude")
EVENT_COLUMNS = (*EVENT_TEXT, "topics", "organizer_key", *(f"venue_{k}" for k in EVENT_VENUE))
COLUMNS = {"member": MEMBER_COLUMNS, "event": EVENT_COLUMNS}


# The operator's own file, not an upload (those are bounded when they arrive): see sheets.
FILE_LIMIT = sheets.MAX_FILE_BYTES


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(LIST_SEP) if v.strip()]


def _number(value: str, name: str) -> float:
    try:
        return float(value)
    except ValueError as exc:
        raise InvalidInput([(name, f"not a number: {value!r}")]) from exc


def _social(value: str) -> list[dict[str, str]]:
    """``x:@MayoClinic; youtube:https://youtube.com/mayoclinic`` → social accounts."""
    accounts = []
    for item in _split(value):
        platform, _, target = item.partition(":")
        target = target.strip()
        is_url = target.startswith(("http://", "https://"))
        accounts.append(
            {"platform": platform.strip().lower(), "url" if is_url else "handle": target}
        )
    return accounts


def csv_member(row: dict[str, str]) -> dict[str, Any]:
    """Flat CSV columns → a member body (before validation). Empty cells mean "absent"."""
    get = {k.strip(): (v or "").strip() for k, v in row.items() if k}
    body: dict[str, Any] = {}
    for name in MEMBER_TEXT:
        if get.get(name):
            body[name] = get[name]
    for name in ("latitude", "longitude"):
        if get.get(name):
            body[name] = _number(get[name], name)
    for name in ("topics", "languages"):
        if get.get(name):
            body[name] = _split(get[name])
    if get.get("social"):
        body["social"] = _social(get["social"])
    contact = {k: get[f"contact_{k}"] for k in MEMBER_CONTACT if get.get(f"contact_{k}")}
    if contact:
        body["contact"] = contact
    return body


def csv_event(row: dict[str, str]) -> dict[str, Any]:
    get = {k.strip(): (v or "").strip() for k, v in row.items() if k}
    body: dict[str, Any] = {}
    for name in EVENT_TEXT:
        if get.get(name):
            body[name] = get[name]
    if get.get("topics"):
        body["topics"] = _split(get["topics"])
    if get.get("organizer_key"):
        body["organizer_key"] = get["organizer_key"]
    venue: dict[str, Any] = {k: get[f"venue_{k}"] for k in EVENT_VENUE[:3] if get.get(f"venue_{k}")}
    for name in ("latitude", "longitude"):
        if get.get(f"venue_{name}"):
            venue[name] = _number(get[f"venue_{name}"], f"venue_{name}")
    if venue:
        body["venue"] = venue
    return body


def read_rows(path: Path, kind: str) -> Iterator[tuple[int, dict[str, Any] | InvalidInput]]:
    """(line number, raw body or the error that made the line unreadable). A problem with
    the whole file (its encoding, its header) is one error on line 1 and no rows."""
    try:
        data = path.read_bytes()
        if sheets.is_json_lines(path.name):
            yield from _json_lines(sheets.decode(data, name=path.name, limit=FILE_LIMIT))
            return
        sheet = sheets.read(data, name=path.name, limit=FILE_LIMIT)
    except InvalidInput as exc:
        yield 1, exc
        return
    problem = header_problem(sheet.columns, kind)
    if problem is not None:
        yield 1, problem
        return
    convert = csv_member if kind == "member" else csv_event
    for line, cells in sheet.rows:
        if isinstance(cells, InvalidInput):
            yield line, cells
            continue
        try:
            yield line, convert(cells)
        except InvalidInput as exc:
            yield line, exc


def _json_lines(text: str) -> Iterator[tuple[int, dict[str, Any] | InvalidInput]]:
    # Lines as text mode reads them (\n, \r\n, \r), as this import always has; not
    # str.splitlines, which would also split at a U+2028 inside a JSON string.
    for number, line in enumerate(io.StringIO(text, newline=None), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, InvalidInput([("line", f"not JSON ({exc.msg})")])
            continue
        yield (
            number,
            (data if isinstance(data, dict) else InvalidInput([("line", "not a JSON object")])),
        )


def header_problem(columns: list[str], kind: str) -> InvalidInput | None:
    """Why a header cannot be imported as ``kind``, said once for the whole file."""
    expected = COLUMNS[kind]
    listing = ", ".join(expected)
    if "key" not in columns:
        return InvalidInput(
            [("key", f"the file has no key column; the {kind} columns are: {listing}")]
        )
    unknown = [c for c in columns if c and c not in expected]
    if unknown:
        named = ", ".join(repr(c) for c in unknown)
        return InvalidInput(
            [("columns", f"unknown column {named}; the {kind} columns are: {listing}")]
        )
    return None


def detect_kind(path: Path) -> str:
    """``member`` or ``event``: a ``title`` column (or field) makes it events."""
    try:
        data = path.read_bytes()
        if sheets.is_json_lines(path.name):
            # The first line that parses decides; a broken one is reported later.
            for _, raw in _json_lines(sheets.decode(data, name=path.name, limit=FILE_LIMIT)):
                if isinstance(raw, dict):
                    return "event" if "title" in raw else "member"
            return "member"
        columns = sheets.read(data, name=path.name, limit=FILE_LIMIT).columns
        return "event" if "title" in columns else "member"
    except InvalidInput:
        return "member"  # read_rows reports what is wrong with the file


def row_count(path: Path) -> int:
    """The number of data rows, the progress bar's total: read as ``read_rows`` reads
    them (same decoding, delimiter and bounds), so the bar ends where the import does;
    0 for a file that cannot be read (``read_rows`` says why)."""
    try:
        data = path.read_bytes()
        if sheets.is_json_lines(path.name):
            text = sheets.decode(data, name=path.name, limit=FILE_LIMIT)
            return sum(1 for line in io.StringIO(text, newline=None) if line.strip())
        return len(sheets.read(data, name=path.name, limit=FILE_LIMIT).rows)
    except InvalidInput:
        return 0
