"""Import files as hospital web teams have them (node/sheets.py): Windows-1252 from Excel,
``;`` and tab delimiters, a BOM, headers in any order and case, .xlsx workbooks; and the
header checked once, so a missing key column or a typo in a column's name is one error
and nothing is imported."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from support.cli import hn
from support.imports import error_lines, events, make_home, members, node_info, summary

from node import sheets
from node.errors import InvalidInput
from node.importer import MEMBER_COLUMNS

HEADER = "key,name,kind,country,city,website"
ROWS = [
    "hsl,Hôpital Saint-Léon,hospital,CA,Montréal,https://hsl.example.ca",
    "cno,Clínica Niño Jesús,clinic,MX,Mérida,https://cno.example.mx",
]


@pytest.fixture
def na_home(tmp_path: Path, database_url: str) -> Path:
    return make_home(tmp_path, database_url, "north-america")


def _write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _names(home: Path) -> set[str]:
    return set(members(home))


# files as people have them -------------------------------------------------------------


def test_a_windows_1252_file_with_semicolons_imports_its_accents(
    na_home: Path, tmp_path: Path
) -> None:
    text = "\r\n".join([HEADER.replace(",", ";"), *(r.replace(",", ";") for r in ROWS)]) + "\r\n"
    path = _write(tmp_path / "excel.csv", text, "cp1252")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # the file really is not UTF-8
    result = hn("import", na_home, path)
    assert summary(result) == "2 created, 0 updated, 0 unchanged, 0 rejected"
    assert _names(na_home) == {"Hôpital Saint-Léon", "Clínica Niño Jesús"}
    assert members(na_home)["Hôpital Saint-Léon"]["city"] == "Montréal"


def test_a_utf8_file_with_a_bom_and_tabs(na_home: Path, tmp_path: Path) -> None:
    text = "\n".join([HEADER.replace(",", "\t"), *(r.replace(",", "\t") for r in ROWS)])
    path = _write(tmp_path / "members.tsv", "\ufeff" + text, "utf-8")
    assert summary(hn("import", na_home, path)).startswith("2 created")
    assert _names(na_home) == {"Hôpital Saint-Léon", "Clínica Niño Jesús"}


def test_headers_in_any_order_and_case(na_home: Path, tmp_path: Path) -> None:
    text = "City , NAME,Key,Country,kind\nMontréal,Hôpital Saint-Léon,hsl,CA,hospital\n"
    path = _write(tmp_path / "members.csv", text, "utf-8")
    assert summary(hn("import", na_home, path)).startswith("1 created")
    assert members(na_home)["Hôpital Saint-Léon"]["city"] == "Montréal"


def test_an_xlsx_workbook_with_dates_and_numbers(na_home: Path, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["key", "name", "kind", "country", "city", "latitude", "longitude"])
    sheet.append(["mayo", "Mayo Clinic", "hospital", "US", "Rochester", 44.0225, -92.4699])
    sheet.append([])  # a blank row between is skipped, its number is not reused
    sheet.append([17, "Swedish", "health-system", "US", "Seattle", None, None])
    book.save(tmp_path / "members.xlsx")
    result = hn("import", na_home, tmp_path / "members.xlsx")
    assert summary(result) == "2 created, 0 updated, 0 unchanged, 0 rejected"
    found = members(na_home)
    assert found["Mayo Clinic"]["latitude"] == pytest.approx(44.0225)
    assert set(found) == {"Mayo Clinic", "Swedish"}

    book = Workbook()
    sheet = book.active
    sheet.append(["key", "title", "kind", "starts_at", "ends_at", "timezone", "online_url"])
    start, end = datetime(2027, 3, 1, 15, 0), datetime(2027, 3, 1, 16, 0)
    sheet.append(["w1", "Webinar", "webinar", start, end, "America/Chicago", "https://w.example"])
    book.save(tmp_path / "events.xlsx")
    assert summary(hn("import", na_home, tmp_path / "events.xlsx")).startswith("1 created")
    assert events(na_home)["Webinar"]["starts_at"] == "2027-03-01T15:00"  # wall-clock time


def test_kind_is_given_in_either_spelling(na_home: Path, tmp_path: Path) -> None:
    path = _write(tmp_path / "m.csv", "\n".join([HEADER, *ROWS]), "utf-8")
    assert summary(hn("import", na_home, path, "--kind", "members")).startswith("2 created")
    assert summary(hn("import", na_home, path, "--kind", "Member")).startswith("0 created")


# the header, checked once ------------------------------------------------------------------


def test_a_missing_key_column_is_one_error_and_imports_nothing(
    na_home: Path, tmp_path: Path
) -> None:
    rows = "\n".join(["name,kind,country", *(f"Clinic {n},clinic,US" for n in range(50))])
    result = hn("import", na_home, _write(tmp_path / "m.csv", rows, "utf-8"), code=1)
    assert error_lines(result) == [
        "line 1: key: the file has no key column; the member columns are: "
        + ", ".join(MEMBER_COLUMNS)
    ]
    assert node_info(na_home)["last_seq"] == 0


def test_an_unknown_column_is_named_and_imports_nothing(na_home: Path, tmp_path: Path) -> None:
    text = "key,name,kind,cuntry\nx,Clinic X,clinic,US\n"
    result = hn("import", na_home, _write(tmp_path / "m.csv", text, "utf-8"), code=1)
    (line,) = error_lines(result)
    assert line.startswith("line 1: columns: unknown column 'cuntry'; the member columns are:")
    assert node_info(na_home)["last_seq"] == 0


def test_a_binary_file_is_a_clean_error(na_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "photo.csv"
    path.write_bytes(bytes(range(256)) * 8)
    result = hn("import", na_home, path, code=1)
    assert "Traceback" not in result.stderr
    assert error_lines(result)[0].startswith("line 1: file: not ")
    assert node_info(na_home)["last_seq"] == 0


def test_an_xls_or_broken_xlsx_says_what_to_do(na_home: Path, tmp_path: Path) -> None:
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    assert "save it as .xlsx or CSV" in hn("import", na_home, tmp_path / "old.xls", code=1).stderr
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    assert "not an .xlsx workbook" in hn("import", na_home, tmp_path / "bad.xlsx", code=1).stderr


# node/sheets.py, bytes in, rows out ---------------------------------------------------------


def test_decode_reads_each_encoding_as_written() -> None:
    text = "naam;stad\nRadboudumc;Nijmegen – Gelderland ’s\n"
    assert sheets.decode(text.encode("utf-8")) == text
    assert sheets.decode(b"\xef\xbb\xbf" + text.encode("utf-8")) == text
    assert sheets.decode(text.encode("utf-16")) == text
    assert sheets.decode(text.encode("cp1252")) == text  # the dash and quote are cp1252's
    japanese = "名前,都市\n東京病院,東京\n"
    assert sheets.decode(japanese.encode("shift_jis")) == japanese  # multi-byte stands


def test_decode_refuses_binary_and_oversized_input() -> None:
    with pytest.raises(InvalidInput) as caught:
        sheets.decode(b"a,b\n\x00\x01\x02")
    assert caught.value.errors[0][0] == "file"
    with pytest.raises(InvalidInput, match="limit"):
        sheets.decode(b"x" * (sheets.MAX_BYTES + 1))


@pytest.mark.parametrize(
    ("line", "expected"),
    [("a,b,c", ","), ("a;b;c", ";"), ("a\tb\tc", "\t"), ("name", ","), ("a;b,c;d", ";")],
)
def test_the_delimiter_is_the_one_the_header_uses_most(line: str, expected: str) -> None:
    assert sheets.delimiter(line) == expected


def test_table_normalises_the_header_and_numbers_lines() -> None:
    sheet = sheets.table('\n Key ;NAME\n\na;"two\nlines"\nb;B\n')
    assert sheet.columns == ["key", "name"]
    # Line 1 is blank, the header is line 2; a row is numbered by the line it starts on.
    assert sheet.rows == [(4, {"key": "a", "name": "two\nlines"}), (6, {"key": "b", "name": "B"})]


def test_table_refuses_a_repeated_column_and_names_a_row_with_extra_cells() -> None:
    with pytest.raises(InvalidInput, match="'name' appears twice"):
        sheets.table("key,name,Name\n")
    sheet = sheets.table("key,name\na,A,\nb,B,surplus\n")
    assert sheet.rows[0] == (2, {"key": "a", "name": "A"})  # a trailing empty cell is fine
    line, problem = sheet.rows[1]
    assert line == 3 and isinstance(problem, InvalidInput)
    assert problem.errors == [("row", "3 cells but 2 columns in the header")]


def test_workbook_cells_read_as_typed(tmp_path: Path) -> None:
    book = Workbook()
    book.active.append(["Key", "n", "when", "flag"])
    book.active.append(["k", 42.0, datetime(2027, 5, 20, 9, 30), True])
    book.save(tmp_path / "b.xlsx")
    sheet = sheets.read((tmp_path / "b.xlsx").read_bytes(), name="B.XLSX")
    assert sheet.columns == ["key", "n", "when", "flag"]
    assert sheet.rows == [(2, {"key": "k", "n": "42", "when": "2027-05-20T09:30", "flag": "true"})]
