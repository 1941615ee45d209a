"""Import files as people have them: bytes and a file name in, a header and rows out.

Pure (no database, no clock, no file system): the CLI reads a path, the console will
read an upload, and both hand the bytes here, so a file imports the same either way.

What "as people have them" means, and why each rule is here:

* **Encodings.** UTF-8 with or without a byte order mark (what most tools write); UTF-16
  with a BOM (Excel's "Unicode text"); otherwise the encoding is detected with
  charset-normalizer. Excel on Windows saves "CSV" in the system's code page, Windows-1252
  across Western Europe and the Americas, and on a short file the detector cannot tell
  the single-byte code pages apart (it reads Windows-1252 "Hôpital Saint-Léon" as cp1250
  or cp775, which garbles exactly the accented letters). So when it guesses any
  single-byte code page, Windows-1252 is used; multi-byte guesses (Shift JIS, GB 18030)
  stand. Text with NUL characters is a binary file, never a guess. A file that is not
  text is one error naming it, never a decoding traceback.
* **Delimiters.** ``,`` or ``;`` (Excel writes ``;`` where the decimal separator is a
  comma, as in the Netherlands or France) or a tab (Excel's "Unicode text", a ``.tsv``),
  sniffed on the header line alone: header names hold none of them, while data cells
  (a description, a list of topics) hold all three.
* **Headers** in any order, case and surrounding space ignored (``Name`` is ``name``).
  Trailing empty cells are dropped from every row: Excel writes them (``a;b;;``) for
  any column that was ever formatted.
* **.xlsx**: the first sheet, its first non-empty row the header; dates as ISO 8601
  (a date-only cell as a date, as a person typed it), whole numbers without ``.0``; line
  numbers are the spreadsheet's row numbers, so an error points at the row Excel shows.

Everything is bounded (bytes, unpacked bytes of a workbook, rows, cells per row), so an
upload cannot exhaust memory; each bound is a constant here and is an error that says it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from node.errors import InvalidInput

MAX_BYTES = 20 * 1024 * 1024
# A file on the operator's own disk (`healthnet import`): a region's whole directory in one
# CSV may be hundreds of megabytes (1,000,000 members is about 400 MB), and nobody but the
# operator chooses it. Uploads through the console keep ``MAX_BYTES``.
MAX_FILE_BYTES = 1024 * 1024 * 1024
MAX_UNPACKED = 16 * MAX_BYTES  # an .xlsx is a zip: real ones unpack 5-10x, bombs 1000x
MAX_ROWS = 200_000
MAX_CELLS = 200
DELIMITERS = ",;\t"
SNIFF_CHARS = 64 * 1024  # of the header line: the sniffer's patterns backtrack
JSON_LINES = (".jsonl", ".ndjson", ".json")
SAVE_AS = "save it as CSV UTF-8 or .xlsx"
# (byte order mark, the codec that reads what follows it, its name for a person)
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig", "UTF-8"),
    (b"\xff\xfe", "utf-16", "UTF-16"),  # the utf-16 codec reads the BOM's byte order
    (b"\xfe\xff", "utf-16", "UTF-16"),
)
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


def check_size(data: bytes, limit: int = MAX_BYTES) -> None:
    if len(data) > limit:
        raise _file_error(f"the file is {len(data):,} bytes; the limit is {limit:,}")


def decode(data: bytes, *, name: str, limit: int = MAX_BYTES) -> str:
    """The text of a file, whatever encoding it came in (see the module docstring);
    ``name`` is the file's, for the error when it is not text."""
    check_size(data, limit)
    for bom, encoding, label in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise _file_error(
                    f"not text: {name} begins with a {label} byte order mark but what "
                    f"follows is not {label}; {SAVE_AS}"
                ) from exc
            break
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _detected(data, name=name)
    if "\x00" in text:
        raise _file_error(f"not text: {name} holds NUL bytes (a binary file?); {SAVE_AS}")
    return text


def _detected(data: bytes, *, name: str) -> str:
    from charset_normalizer import from_bytes  # here: the CLI's start-up never needs it

    best = from_bytes(data).best()
    if best is None:
        raise _file_error(f"not text: {name} is in no encoding this node knows; {SAVE_AS}")
    encoding = str(best.encoding)
    if _single_byte(encoding):  # see the module docstring: Excel's Windows-1252 wins
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            pass  # one of the five bytes cp1252 leaves undefined: trust the detector
    return data.decode(encoding)


def _single_byte(encoding: str) -> bool:
    """Whether ``encoding`` maps each byte to one character (no multi-byte sequences)."""
    return len(bytes(range(256)).decode(encoding, errors="replace")) == 256


def delimiter(header_line: str) -> str:
    """``,``, ``;`` or tab, sniffed on the header line (``,`` when the sniffer cannot
    tell, as for a file with one column)."""
    try:
        sniffed = csv.Sniffer().sniff(header_line[:SNIFF_CHARS], delimiters=DELIMITERS)
    except csv.Error:
        return ","
    return sniffed.delimiter


def normal_column(name: str) -> str:
    return name.strip().lower()


def read(data: bytes, *, name: str, limit: int = MAX_BYTES) -> Sheet:
    """A CSV (or tab-separated) file or an .xlsx workbook, as a ``Sheet``; which one is
    told by the name, as a person's file manager would."""
    check_size(data, limit)
    lowered = name.lower()
    if lowered.endswith(".xls"):
        raise _file_error(f"{name} is an .xls workbook (Excel 97-2003): save it as .xlsx")
    if lowered.endswith((".xlsx", ".xlsm")):
        return _workbook(data, name=name)
    return table(decode(data, name=name, limit=limit))


def table(text: str) -> Sheet:
    """Rows of delimited text; the first non-empty line is the header."""
    # Newlines as text mode reads them (``\r\n`` and ``\r`` are ``\n``, in quoted cells too).
    first = next((line for line in io.StringIO(text, newline=None) if line.strip()), "")
    reader = csv.reader(io.StringIO(text, newline=None), delimiter=delimiter(first))

    def numbered() -> Iterator[tuple[int, list[str] | InvalidInput]]:
        while True:
            start = reader.line_num + 1  # a quoted cell may span lines: report the first
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield start, InvalidInput([("row", f"not CSV ({exc})")])
                return
            yield start, cells

    return _collect(numbered())


def _collect(numbered: Iterable[tuple[int, list[str] | InvalidInput]]) -> Sheet:
    """A header and rows from (line, cells) pairs, CSV's or a workbook's alike: empty
    rows skipped, the first non-empty one the header, the row count bounded."""
    columns: list[str] | None = None
    rows: list[Row] = []
    for number, raw in numbered:
        if isinstance(raw, InvalidInput):
            rows.append((number, raw))
            continue
        cells = _trimmed(raw)
        if not cells:
            continue
        if columns is None:
            columns = _header(cells)
        else:
            _count(rows)
            rows.append((number, _cells(columns, cells)))
    return Sheet(columns or [], rows)


def _trimmed(cells: list[str]) -> list[str]:
    """Without trailing empty cells; ``[]`` for an empty row."""
    end = len(cells)
    while end and not cells[end - 1].strip():
        end -= 1
    return cells[:end]


def _count(rows: list[Row]) -> None:
    if len(rows) >= MAX_ROWS:
        raise _file_error(f"more than {MAX_ROWS:,} rows: split the file")


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
    if len(cells) > MAX_CELLS:
        return InvalidInput([("row", f"{len(cells)} cells; the limit is {MAX_CELLS}")])
    if len(cells) > len(columns):
        return InvalidInput(
            [("row", f"{len(cells)} cells but {len(columns)} columns in the header")]
        )
    return {c: v for c, v in zip(columns, cells, strict=False) if c}


def _workbook(data: bytes, *, name: str) -> Sheet:
    """The first sheet of an .xlsx, read as a stream (openpyxl's read-only mode)."""
    import zlib
    from zipfile import BadZipFile, ZipFile

    from openpyxl import load_workbook  # here: only an .xlsx import pays for it
    from openpyxl.utils.exceptions import InvalidFileException

    # What a damaged or foreign file makes zipfile and openpyxl raise, at open or while
    # rows stream (XML parse errors are SyntaxErrors): all of it means "not a workbook".
    broken = (BadZipFile, EOFError, InvalidFileException, KeyError, OSError, SyntaxError,
              TypeError, ValueError, zlib.error)  # fmt: skip
    try:
        with ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_UNPACKED:
            raise _file_error(
                f"{name} unpacks to {unpacked:,} bytes; the limit is {MAX_UNPACKED:,}"
            )
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            if not book.worksheets:
                raise _file_error(f"{name} has no worksheet")
            return _first_sheet(book.worksheets[0])
        finally:
            book.close()
    except broken as exc:
        raise _file_error(f"{name} is not an .xlsx workbook ({exc}); {SAVE_AS}") from exc


def _first_sheet(sheet: Any) -> Sheet:
    return _collect(
        (number, [_text(c.value, getattr(c, "number_format", None)) for c in row])
        for number, row in enumerate(sheet.iter_rows(), start=1)
    )


def _text(value: object, number_format: str | None = None) -> str:
    """A cell as the text a person typed: dates in ISO 8601 (a cell formatted as a date
    alone as ``2027-03-01``, not ``2027-03-01T00:00``), 42.0 as 42."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        from openpyxl.styles.numbers import is_datetime

        if number_format and is_datetime(number_format) == "date":
            return value.date().isoformat()
        return value.isoformat(timespec="minutes" if value.second == 0 else "seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
