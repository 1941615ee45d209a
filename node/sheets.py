"""Import files as people have them: bytes and a file name in, a header and rows out.

Pure (no database, no clock, no file system): the CLI reads a path, the console will
read an upload, and both hand the bytes here, so a file imports the same either way.

What "as people have them" means, and why each rule is here:

* **Encodings.** UTF-8 with or without a byte order mark (what most tools write); UTF-16
  with a BOM (Excel's "Unicode text"); otherwise the encoding is detected with
  charset-normalizer. Excel on Windows saves "CSV" in the system's code page, Windows-1252
  across Western Europe and the Americas, so when the detector guesses any single-byte
  code page, Windows-1252 is used (they differ in a handful of letters, and a detector
  cannot tell them apart on a short file); multi-byte guesses (Shift JIS, GB 18030)
  stand. Text with NUL characters is a binary file, never a guess.
* **Delimiters.** ``,`` or ``;`` (Excel writes ``;`` where the decimal separator is a
  comma, as in the Netherlands) or a tab, counted on the header line: header names hold
  none of them.
* **Headers** in any order, case and surrounding space ignored (``Name`` is ``name``).
* **.xlsx**: the first sheet, its first row the header; dates as ISO 8601, whole numbers
  without ``.0``; line numbers are the spreadsheet's row numbers.

Everything is bounded (bytes, rows, cells per row), so an upload cannot exhaust memory.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time

from node.errors import InvalidInput

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
MAX_CELLS = 200
DELIMITERS = (",", ";", "\t")
JSON_LINES = (".jsonl", ".ndjson", ".json")
Row = tuple[int, dict[str, str] | InvalidInput]  # (line, cells by column, or why not)


@dataclass(frozen=True)
class Sheet:
    """A header (normalised column names, in file order) and its rows, each with the line
    (or spreadsheet row) it starts on."""

    columns: list[str]
    rows: list[Row]


def _file_error(reason: str) -> InvalidInput:
    return InvalidInput([("file", reason)])


def is_json_lines(name: str) -> bool:
    return name.lower().endswith(JSON_LINES)


def check_size(data: bytes) -> None:
    if len(data) > MAX_BYTES:
        raise _file_error(f"the file is {len(data):,} bytes; the limit is {MAX_BYTES:,}")


def decode(data: bytes) -> str:
    """The text of a file, whatever encoding it came in (see the module docstring)."""
    check_size(data)
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8", errors="strict")
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _detected(data)
    if "\x00" in text:
        raise _file_error("not a text file (it holds NUL bytes): save it as CSV or .xlsx")
    return text


def _detected(data: bytes) -> str:
    from charset_normalizer import from_bytes  # here: the CLI's start-up never needs it

    matches = from_bytes(data)
    if not matches:
        raise _file_error("not text in any encoding this node knows: save it as UTF-8 CSV")
    best = str(matches[0].encoding)
    # A detector cannot tell single-byte code pages apart on a short file (it reads a
    # Windows-1252 "Hôpital" as cp775 or cp1250); Excel writes Windows-1252 across
    # Western Europe and the Americas, so among single-byte guesses that one wins.
    if _single_byte(best):
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            pass  # one of the five bytes cp1252 leaves undefined: trust the detector
    return data.decode(best)


def _single_byte(encoding: str) -> bool:
    """Whether ``encoding`` maps each byte to one character (no multi-byte sequences)."""
    return len(bytes(range(256)).decode(encoding, errors="replace")) == 256


def delimiter(header_line: str) -> str:
    """The delimiter the header line uses most (``,`` when it uses none)."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def normal_column(name: str) -> str:
    return name.strip().lower()


def read(data: bytes, *, name: str) -> Sheet:
    """A CSV (or tab-separated) file or an .xlsx workbook, as a ``Sheet``."""
    check_size(data)
    lowered = name.lower()
    if lowered.endswith(".xls"):
        raise _file_error("an .xls workbook (Excel 97-2003): save it as .xlsx or CSV")
    if lowered.endswith((".xlsx", ".xlsm")):
        return _workbook(data)
    return table(decode(data))


def table(text: str) -> Sheet:
    """Rows of delimited text; the first non-empty line is the header."""
    lines = io.StringIO(text)
    first = next((line for line in io.StringIO(text) if line.strip()), "")
    reader = csv.reader(lines, delimiter=delimiter(first))
    columns: list[str] | None = None
    rows: list[Row] = []
    while len(rows) < MAX_ROWS:
        start = reader.line_num + 1  # a quoted cell may span lines: report the first
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rows.append((start, InvalidInput([("row", f"not CSV ({exc})")])))
            break
        if not any(c.strip() for c in cells):
            continue
        if columns is None:
            columns = _header(cells)
            continue
        rows.append((start, _cells(columns, cells)))
    else:
        raise _file_error(f"more than {MAX_ROWS:,} rows: split the file")
    return Sheet(columns or [], rows)


def _header(cells: list[str]) -> list[str]:
    if len(cells) > MAX_CELLS:
        raise _file_error(f"the header has {len(cells)} columns; the limit is {MAX_CELLS}")
    columns = [normal_column(c) for c in cells]
    seen: set[str] = set()
    for column in columns:
        if column and column in seen:
            raise _file_error(f"the column {column!r} appears twice in the header")
        seen.add(column)
    return columns


def _cells(columns: list[str], cells: list[str]) -> dict[str, str] | InvalidInput:
    extra = [c for c in cells[len(columns) :] if c.strip()]
    if extra:
        return InvalidInput(
            [("row", f"{len(cells)} cells but {len(columns)} columns in the header")]
        )
    return {c: v for c, v in zip(columns, cells, strict=False) if c}


def _workbook(data: bytes) -> Sheet:
    from zipfile import BadZipFile

    from openpyxl import load_workbook  # here: only an .xlsx import pays for it

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        raise _file_error(f"not an .xlsx workbook ({exc})") from exc
    try:
        sheet = book.worksheets[0]
        columns: list[str] | None = None
        rows: list[Row] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_text(v) for v in values[: MAX_CELLS + 1]]
            if not any(c.strip() for c in cells):
                continue
            if columns is None:
                columns = _header(cells)
                continue
            if len(rows) >= MAX_ROWS:
                raise _file_error(f"more than {MAX_ROWS:,} rows: split the file")
            rows.append((number, _cells(columns, cells)))
    finally:
        book.close()
    return Sheet(columns or [], rows)


def _text(value: object) -> str:
    """A cell as the text a person typed: dates in ISO 8601, 42.0 as 42."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes" if value.second == 0 else "seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
