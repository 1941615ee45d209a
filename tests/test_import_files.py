"""Import files as hospital web teams have them (node/sheets.py): Windows-1252 from Excel,
``;`` and tab delimiters, a BOM, headers in any order and case, .xlsx workbooks; and the
header checked once, so a missing key column or a typo in a column's name is one error
and nothing is imported."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from zipfile import ZipFile

import pytest
from openpyxl import Workbook
from support.cli import hn
from support.imports import error_lines, events, make_home, members, node_info, summary

from node import sheets
from node.errors import InvalidInput
from node.import_rows import MEMBER_COLUMNS, detect_kind, row_count
from node.importer import record_id
from node.settings import NodeSettings

HEADER = "key,name,kind,country,city,website"
ROWS = [
    "hsl,Hôpital Saint-Léon,hospital,CA,Montréal,https://hsl.example.ca",
    "cno,Clínica Niño Jesús,clinic,MX,Mérida,https://cno.example.mx",
]


@pytest.fixture
def na_home(tmp_path: Path, database_url: str) -> Path:
    """A North America node (its members are in CA, MX and the US)."""
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


def test_json_lines_in_utf16_as_powershell_writes_them(na_home: Path, tmp_path: Path) -> None:
    line = '{"key": "hsl", "name": "Hôpital Saint-Léon", "kind": "hospital", "country": "CA"}'
    path = _write(tmp_path / "members.jsonl", line + "\r\n", "utf-16")
    assert summary(hn("import", na_home, path)).startswith("1 created")
    assert _names(na_home) == {"Hôpital Saint-Léon"}


def test_headers_in_any_order_and_case(na_home: Path, tmp_path: Path) -> None:
    text = "City , NAME,Key,Country,kind\nMontréal,Hôpital Saint-Léon,hsl,CA,hospital\n"
    path = _write(tmp_path / "members.csv", text, "utf-8")
    assert summary(hn("import", na_home, path)).startswith("1 created")
    assert members(na_home)["Hôpital Saint-Léon"]["city"] == "Montréal"


def test_an_xlsx_workbook_with_dates_and_numbers(na_home: Path, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["key", "name", "kind", "country", "city", "latitude", "longitude", "joined"])
    sheet.append(["mayo", "Mayo Clinic", "hospital", "US", "Rochester", 44.0225, -92.4699])
    sheet.append([])  # a blank row between is skipped, its number is not reused
    sheet.append([17, "Swedish", "health-system", "US", "Seattle", None, None, date(2019, 5, 1)])
    sheet.append(["bad", "Bad Kind", "spaceport", "US"])
    book.save(tmp_path / "members.xlsx")
    result = hn("import", na_home, tmp_path / "members.xlsx", code=1)
    assert summary(result) == "2 created, 0 updated, 0 unchanged, 1 rejected"
    assert error_lines(result)[0].startswith("line 5: kind: ")  # the row Excel shows
    found = members(na_home)
    assert found["Mayo Clinic"]["latitude"] == pytest.approx(44.0225)
    assert found["Swedish"]["joined"] == "2019-05-01"  # a date cell, not 2019-05-01T00:00
    assert set(found) == {"Mayo Clinic", "Swedish"}
    node_id = NodeSettings.load(na_home).node_id
    assert found["Swedish"]["id"] == record_id(node_id, "member", "17")  # a number cell's text

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
    assert error_lines(result) == [
        "line 1: file: not text: photo.csv is in no encoding this node knows;"
        " save it as CSV UTF-8 or .xlsx"
    ]
    assert node_info(na_home)["last_seq"] == 0


def test_an_xls_or_broken_xlsx_says_what_to_do(na_home: Path, tmp_path: Path) -> None:
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    assert "old.xls is an .xls workbook (Excel 97-2003): save it as .xlsx" in (
        hn("import", na_home, tmp_path / "old.xls", code=1).stderr
    )
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    result = hn("import", na_home, tmp_path / "bad.xlsx", code=1)
    assert "Traceback" not in result.stderr
    assert error_lines(result)[0].startswith("line 1: file: bad.xlsx is not an .xlsx workbook")


# node/sheets.py, bytes in, rows out ---------------------------------------------------------


def test_decode_reads_each_encoding_as_written() -> None:
    text = "naam;stad\nRadboudumc;Nijmegen – Gelderland ’s\n"
    assert sheets.decode(text.encode("utf-8"), name="t.csv") == text
    assert sheets.decode(b"\xef\xbb\xbf" + text.encode("utf-8"), name="t.csv") == text
    assert sheets.decode(text.encode("utf-16"), name="t.csv") == text  # with its BOM
    excel = "key;name\nhsl;Hôpital Saint-Léon\ncno;Clínica Niño Jesús\n"
    # The detector alone reads these short cp1252 files as cp1250 or cp775.
    assert sheets.decode(excel.encode("cp1252"), name="t.csv") == excel
    assert sheets.decode(text.encode("cp1252"), name="t.csv") == text  # its dash and quote
    japanese = "名前,都市\n東京病院,東京\n"
    assert sheets.decode(japanese.encode("shift_jis"), name="t.csv") == japanese


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"a,b\n\x00\x01\x02", "not text: up.csv holds NUL bytes (a binary file?)"),
        ("a,b\n".encode("utf-16-le"), "not text: up.csv holds NUL bytes (a binary file?)"),
        (bytes(range(256)) * 8, "not text: up.csv is in no encoding this node knows"),
        (b"\xef\xbb\xbfkey\n\xff\xfe\xfd", "not text: up.csv begins with a UTF-8 byte order mark"),
        (b"\xff\xfek\x00e", "not text: up.csv begins with a UTF-16 byte order mark"),
    ],
    ids=["nul", "utf-16-without-bom", "binary", "bad-utf-8-after-bom", "odd-utf-16"],
)
def test_decode_names_the_file_that_is_not_text(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        sheets.decode(data, name="up.csv")
    ((field, said),) = caught.value.errors
    assert field == "file" and said.startswith(reason), said


def test_reading_is_bounded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="the limit is 20,971,520"):
        sheets.read(b"x" * (sheets.MAX_BYTES + 1), name="big.csv")
    with pytest.raises(InvalidInput, match="the header has 201 columns; the limit is 200"):
        sheets.table(",".join(f"c{n}" for n in range(201)))
    sheet = sheets.table("key\n" + ",".join("x" * 201) + "\nk" + "," * 500 + "\n")
    line, problem = sheet.rows[0]
    assert line == 2 and isinstance(problem, InvalidInput)
    assert problem.errors == [("row", "201 cells; the limit is 200")]
    assert sheet.rows[1] == (3, {"key": "k"})  # Excel's trailing empty cells are not cells
    monkeypatch.setattr(sheets, "MAX_ROWS", 2)
    with pytest.raises(InvalidInput, match="more than 2 rows"):
        sheets.table("key\na\nb\nc\n")
    book = Workbook()
    book.active.append(["key"])
    book.save(tmp_path / "b.xlsx")
    monkeypatch.setattr(sheets, "MAX_UNPACKED", 1000)  # a zip bomb unpacks far past it
    with pytest.raises(InvalidInput, match=r"b.xlsx unpacks to [\d,]+ bytes; the limit is 1,000"):
        sheets.read((tmp_path / "b.xlsx").read_bytes(), name="b.xlsx")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("a,b,c", ","),
        ("a;b;c\r\n", ";"),
        ("a\tb\tc", "\t"),
        ('"key";"name"', ";"),
        ("name", ","),  # one column: nothing to sniff
        ("key|name", ","),  # a pipe is not one of the three
    ],
)
def test_the_delimiter_is_sniffed_on_the_header_line(line: str, expected: str) -> None:
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
    sheet = book.active
    sheet.append(["Key", "n", "when", "day", "at", "flag", "ratio"])
    sheet.append(["k", 17, datetime(2027, 5, 20, 9, 30), date(2019, 5, 1), time(8, 0), True, 0.5])
    sheet.cell(row=1, column=300).number_format = "0.00"  # formatted, empty: not a column
    book.save(tmp_path / "b.xlsx")
    read = sheets.read((tmp_path / "b.xlsx").read_bytes(), name="B.XLSX")
    assert read.columns == ["key", "n", "when", "day", "at", "flag", "ratio"]
    assert read.rows == [
        (2, {"key": "k", "n": "17", "when": "2027-05-20T09:30", "day": "2019-05-01",
             "at": "08:00:00", "flag": "true", "ratio": "0.5"}),
    ]  # fmt: skip
    assert sheets._text(42.0) == "42"  # a whole number some writers store as a float
    assert sheets._text(datetime(2027, 5, 20, 9, 30, 15)) == "2027-05-20T09:30:15"


def test_a_damaged_workbook_is_one_file_error(tmp_path: Path) -> None:
    book = Workbook()
    book.active.append(["key", "name"])
    book.save(tmp_path / "good.xlsx")
    cut = tmp_path / "cut.xlsx"
    with ZipFile(tmp_path / "good.xlsx") as old, ZipFile(cut, "w") as new:
        for item in old.namelist():
            body = old.read(item)
            new.writestr(item, body[: len(body) // 2] if item.endswith("sheet1.xml") else body)
    with ZipFile(tmp_path / "foreign.xlsx", "w") as foreign:
        foreign.writestr("notes.txt", "a zip, but no workbook")
    for path in (cut, tmp_path / "foreign.xlsx"):
        with pytest.raises(InvalidInput) as caught:
            sheets.read(path.read_bytes(), name=path.name)
        ((field, reason),) = caught.value.errors
        assert field == "file" and reason.startswith(f"{path.name} is not an .xlsx workbook (")


def test_kind_and_row_count_read_the_file_as_the_import_does(tmp_path: Path) -> None:
    """The CLI's progress bar and its choice of kind see the same rows as the import."""
    text = "Key;Title;Kind\r\nw1;Séance d’été;webinar\r\n;\r\nw2;Clínica abierta;webinar\r\n"
    path = _write(tmp_path / "events.csv", text, "cp1252")
    assert (detect_kind(path), row_count(path)) == ("event", 2)
    path = _write(tmp_path / "members.csv", "\ufeffKEY\tName\nx\tX\n", "utf-8")
    assert (detect_kind(path), row_count(path)) == ("member", 1)
    book = Workbook()
    book.active.append(["key", "title"])
    book.active.append(["w1", "Webinar"])
    book.save(tmp_path / "events.xlsx")
    assert (detect_kind(tmp_path / "events.xlsx"), row_count(tmp_path / "events.xlsx")) == (
        "event",
        1,
    )
    path = tmp_path / "events.jsonl"
    lines = '{"key": "a", "title": "Été"}\n\n{"key": "b"}\n'
    path.write_text(lines, encoding="utf-16")  # as PowerShell's `>` writes it
    assert (detect_kind(path), row_count(path)) == ("event", 2)
    (tmp_path / "photo.csv").write_bytes(bytes(range(256)) * 8)
    assert (detect_kind(tmp_path / "photo.csv"), row_count(tmp_path / "photo.csv")) == (
        "member",
        0,
    )


def test_a_file_on_disk_may_be_larger_than_an_upload(tmp_path: Path) -> None:
    """`healthnet import` reads the operator's own file: a region's directory in one CSV
    can be far over the console's 20 MB upload limit (1M members is about 400 MB)."""
    from node.import_rows import FILE_LIMIT, read_rows

    path = tmp_path / "big.csv"
    filler = "x" * 200
    count = sheets.MAX_BYTES // 220 + 10
    with path.open("w", encoding="utf-8") as fh:
        fh.write("key,name,kind,region,country,description\n")
        fh.writelines(f"k{n},Clinic {n},hospital,europe,NL,{filler}\n" for n in range(count))
    assert path.stat().st_size > sheets.MAX_BYTES
    rows = list(read_rows(path, "member"))
    assert len(rows) == count and all(isinstance(r, dict) for _, r in rows)
    assert rows[-1] == (count + 1, rows[-1][1]) and rows[-1][1]["name"] == f"Clinic {count - 1}"
    assert FILE_LIMIT > 20 * sheets.MAX_BYTES
    with pytest.raises(InvalidInput, match="the limit is 1,000"):
        sheets.read(b"x" * 1001, name="big.csv", limit=1000)
