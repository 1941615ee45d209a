"""Importing a file in the console (issue 12): upload, preview before anything is written,
confirm, follow the job to its report; and every way an upload can go wrong answered with
a page that names the problem, with nothing written or kept."""

from __future__ import annotations

import html
import io
import re
import stat
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from openpyxl import Workbook
from sqlalchemy import text
from support.clock import Clock
from support.console import csrf_of, sign_in
from support.nodes import Node, make_node

from node import import_jobs, uploads
from node.db import import_jobs as job_rows
from node.db.engine import writer
from node.db.session import Session
from node.importer import record_id
from schemas.instants import format_utc

# As Excel on Windows saves "CSV" in France: Windows-1252, ";" between cells, CRLF, and the
# columns in an order of its own. Lines 4 and 5 are bad (a kind that is none, no name).
HEADER = "Name;Key;Kind;City;Country"
GOOD = [
    "Hôpital Saint-Louis;hsl;hospital;Paris;FR",
    "Universitätsklinikum Köln;ukk;academic-medical-centre;Köln;DE",
]
BAD = ["Clínica Bad;bad;spaceport;Sevilla;ES", ";noname;clinic;Lyon;FR"]
LAST = "Sint Maartenskliniek;smk;hospital;Nijmegen;NL"
NAMES = {"Hôpital Saint-Louis", "Universitätsklinikum Köln", "Sint Maartenskliniek"}


def _excel_csv(rows: list[str]) -> bytes:
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp1252")


FILE = _excel_csv([*GOOD, *BAD, LAST])


def _upload(
    c: TestClient, content: bytes, name: str = "members.csv", kind: str = "", **extra: str
) -> Response:
    page = c.get("/admin/import")
    assert page.status_code == 200, page.text
    data = {"csrf": csrf_of(page.text), "kind": kind, **extra}
    return c.post("/admin/import", data=data, files={"file": (name, content, "text/csv")})


def _count(page: str, name: str) -> int:
    match = re.search(rf'<span class="count" id="count-{name}">(\d+)</span>', page)
    assert match is not None, f"no {name} count on the page"
    return int(match.group(1))


def _counts(page: str, *names: str) -> tuple[int, ...]:
    return tuple(_count(page, name) for name in names)


def _upload_id(page: str) -> str:
    match = re.search(r'name="upload" value="([0-9a-f]{32})"', page)
    assert match is not None, "the preview has no confirm form"
    return match.group(1)


def _bad_rows(page: str) -> list[tuple[int, str, str]]:
    return [
        (int(line), html.unescape(field), html.unescape(reason))
        for line, field, reason in re.findall(
            r"<tr><th>(\d+)</th><td>([^<]*)</td><td>([^<]*)</td></tr>", page
        )
    ]


def _problems(page: str) -> list[str]:
    block = re.search(
        r'<div class="notice bad" role="alert" id="form-errors">(.*?)</div>', page, re.S
    )
    assert block is not None, "the page names no problem"
    return [
        html.unescape(re.sub(r"<[^>]+>", "", li)).strip()
        for li in re.findall(r"<li>(.*?)</li>", block.group(1), re.S)
    ]


def _confirm(c: TestClient, preview: str) -> str:
    r = c.post(
        "/admin/import/confirm",
        data={"csrf": csrf_of(preview), "upload": _upload_id(preview)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert re.fullmatch(r"/admin/import/[0-9a-f]{32}", location), location
    return location


def _finished(c: TestClient, job_url: str) -> str:
    """The job's page once the import ended (at most 100 polls, about 10 s)."""
    for _ in range(100):
        page = c.get(job_url)
        assert page.status_code == 200, page.text
        if 'http-equiv="refresh"' not in page.text:
            return page.text
        assert re.search(
            r'<span id="done">\d+</span> of <span id="total">\d+</span> rows', page.text
        )
        time.sleep(0.1)
    raise AssertionError("the import did not end within 100 polls")


def _members(node: Node) -> dict[str, dict[str, object]]:
    r = node.client.get("/members", params={"limit": 200})
    assert r.status_code == 200, r.text
    return {m["name"]: m for m in r.json()["items"]}


def _staged(node: Node) -> list[Path]:
    folder = node.settings.home / uploads.DIRECTORY
    return sorted(folder.iterdir()) if folder.exists() else []


def _data_files(node: Node) -> list[Path]:
    return [p for p in _staged(node) if not p.name.endswith(uploads.META)]


# the main flow, on both backends ------------------------------------------------------------


def test_an_excel_csv_is_previewed_then_imported_with_its_accents(node: Node) -> None:
    with pytest.raises(UnicodeDecodeError):
        FILE.decode("utf-8")  # the file really is Windows-1252
    c = sign_in(node, "editor")
    r = _upload(c, FILE)
    assert r.status_code == 200, r.text
    assert "members.csv" in r.text and "Read as members" in r.text
    assert _counts(r.text, "new", "changed", "unchanged") == (3, 0, 0)
    assert _count(r.text, "rejected") == 2
    bad = _bad_rows(r.text)
    assert [(line, field) for line, field, _ in bad] == [(4, "kind"), (5, "name")]
    assert all(reason for _, _, reason in bad)
    assert "Import 3 rows" in r.text
    # Nothing is written before the confirm; the file waits in the home, private.
    assert _members(node) == {}
    [staged] = _data_files(node)
    assert stat.S_IMODE(staged.stat().st_mode) == 0o600
    assert stat.S_IMODE(staged.parent.stat().st_mode) == 0o700
    assert "members" not in staged.name  # a random name, never the person's

    page = _finished(c, _confirm(c, r.text))
    assert _counts(page, "created", "updated", "unchanged") == (3, 0, 0)
    assert [(line, field) for line, field, _ in _bad_rows(page)] == [(4, "kind"), (5, "name")]
    assert 'href="/admin/m"' in page
    found = _members(node)
    assert set(found) == NAMES
    assert found["Universitätsklinikum Köln"]["city"] == "Köln"
    hsl = record_id(node.settings.node_id, "member", "hsl")
    assert found["Hôpital Saint-Louis"]["id"] == hsl  # the CLI's ids: same file, same records
    assert _staged(node) == []  # deleted once imported
    with node.engine.connect() as conn:
        audited = conn.execute(
            text("SELECT token_id, outcome, detail FROM audit_log WHERE action = 'import members'")
        ).all()
    assert len(audited) == 1
    token_id, outcome, detail = audited[0]
    signed_in = re.search(r"Signed in with token <code>(\w+)</code>", page)
    assert signed_in is not None and token_id == signed_in.group(1)
    assert outcome == "ok" and "3 created" in detail

    # The same file again: nothing would change, and nothing does.
    r = _upload(c, FILE)
    assert _counts(r.text, "new", "changed", "unchanged") == (0, 0, 3)
    page = _finished(c, _confirm(c, r.text))
    assert _counts(page, "created", "updated", "unchanged") == (0, 0, 3)

    # One row changed: the preview says so, and the import agrees.
    changed = _excel_csv([GOOD[0].replace("Paris", "Paris 10e"), GOOD[1], *BAD, LAST])
    r = _upload(c, changed)
    assert _counts(r.text, "new", "changed", "unchanged") == (0, 1, 2)
    page = _finished(c, _confirm(c, r.text))
    assert _counts(page, "created", "updated", "unchanged") == (0, 1, 2)
    assert _members(node)["Hôpital Saint-Louis"]["city"] == "Paris 10e"


def test_an_xlsx_workbook_imports(sqlite_node: Node) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["kind", "key", "name", "country", "latitude", "longitude"])
    sheet.append(["hospital", 17, "Charité", "DE", 52.5263, 13.3766])
    sheet.append(["hospital", "hul", "Hospital Universitario La Paz", "ES"])
    buffer = io.BytesIO()
    book.save(buffer)
    c = sign_in(sqlite_node, "admin")
    r = _upload(c, buffer.getvalue(), name="Members 2026.xlsx")
    assert r.status_code == 200, r.text
    assert (_count(r.text, "new"), _count(r.text, "rejected")) == (2, 0)
    _finished(c, _confirm(c, r.text))
    found = _members(sqlite_node)
    assert set(found) == {"Charité", "Hospital Universitario La Paz"}
    assert found["Charité"]["id"] == record_id(sqlite_node.settings.node_id, "member", "17")


def test_events_whose_organizer_is_unknown_are_told_in_the_preview(sqlite_node: Node) -> None:
    c = sign_in(sqlite_node, "editor")
    members = "key,name,kind,country\nrad,Radboud UMC,hospital,NL\n"
    _finished(c, _confirm(c, _upload(c, members.encode()).text))
    events = (
        "key,title,kind,starts_at,ends_at,timezone,online_url,organizer_key\n"
        "w1,Webinar,webinar,2027-03-01T15:00,2027-03-01T16:00,Europe/Amsterdam,https://w.example,rad\n"
        "w2,Orphan,webinar,2027-03-02T15:00,2027-03-02T16:00,Europe/Amsterdam,https://w.example,nobody\n"
    )
    r = _upload(c, events.encode(), name="events.csv")  # told events by the title column
    assert "Read as events" in r.text
    assert (_count(r.text, "new"), _count(r.text, "rejected")) == (1, 1)
    assert _bad_rows(r.text) == [(3, "organizer", "no such member in the directory")]
    page = _finished(c, _confirm(c, r.text))
    assert (_count(page, "created"), _count(page, "rejected")) == (1, 1)
    assert _bad_rows(page) == [(3, "organizer", "no such member in the directory")]
    assert 'href="/admin/e"' in page


def test_a_file_of_many_bad_rows_lists_the_first_thousand(sqlite_node: Node) -> None:
    rows = [f"Klinik {i};k{i};spaceport;Berlin;DE" for i in range(import_jobs.ERRORS_KEPT + 5)]
    c = sign_in(sqlite_node)
    r = _upload(c, _excel_csv([*rows, LAST]))
    assert (_count(r.text, "new"), _count(r.text, "rejected")) == (1, import_jobs.ERRORS_KEPT + 5)
    assert len(_bad_rows(r.text)) == import_jobs.ERRORS_KEPT
    assert f"The first {import_jobs.ERRORS_KEPT} problems are shown" in r.text
    page = _finished(c, _confirm(c, r.text))
    assert (_count(page, "created"), _count(page, "rejected")) == (1, import_jobs.ERRORS_KEPT + 5)
    assert len(_bad_rows(page)) == import_jobs.ERRORS_KEPT


# files that cannot be imported ----------------------------------------------------------


def test_a_missing_key_column_is_said_once_with_the_columns(sqlite_node: Node) -> None:
    c = sign_in(sqlite_node)
    r = _upload(c, "name,kind,country\nCharité,hospital,DE\n".encode())
    assert r.status_code == 422
    [problem] = _problems(r.text)
    assert "no key column" in problem and "name, kind, region, country" in problem
    assert _staged(sqlite_node) == [] and _members(sqlite_node) == {}


def test_an_unknown_column_is_named(sqlite_node: Node) -> None:
    c = sign_in(sqlite_node)
    r = _upload(c, b"key,name,kind,country,webiste\nch,Charite,hospital,DE,x\n")
    assert r.status_code == 422
    [problem] = _problems(r.text)
    assert "unknown column 'webiste'" in problem and "website" in problem
    assert _staged(sqlite_node) == []


@pytest.mark.parametrize(
    ("content", "name", "said"),
    [
        (b"", "members.csv", "members.csv is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20, "members.csv", "not text"),
        (b"PK\x03\x04 not really a zip", "members.xlsx", "is not an .xlsx workbook"),
        (b"key,name\n", "old.xls", "Excel 97-2003"),
    ],
)
def test_a_file_that_is_not_an_import_is_named(
    sqlite_node: Node, content: bytes, name: str, said: str
) -> None:
    c = sign_in(sqlite_node)
    r = _upload(c, content, name=name)
    assert r.status_code == 422, r.text
    assert any(said in p for p in _problems(r.text)), _problems(r.text)
    assert _staged(sqlite_node) == []


def test_no_file_at_all(sqlite_node: Node) -> None:
    c = sign_in(sqlite_node)
    page = c.get("/admin/import")
    assert 'accept=".csv,.xlsx,.jsonl"' in page.text and "contact_email" in page.text
    r = c.post("/admin/import", data={"csrf": csrf_of(page.text), "kind": ""})
    assert r.status_code == 422
    assert any("choose a file" in p for p in _problems(r.text))
    r = _upload(c, b"key,name\n", kind="spaceships")
    assert r.status_code == 422 and any("members, events" in p for p in _problems(r.text))


# who may do what ---------------------------------------------------------------------------


def test_an_upload_without_the_csrf_token_is_refused_and_not_kept(sqlite_node: Node) -> None:
    c = sign_in(sqlite_node)
    r = c.post("/admin/import", data={"kind": ""}, files={"file": ("m.csv", FILE, "text/csv")})
    assert r.status_code == 403
    assert "text/html" in r.headers["content-type"]
    assert _staged(sqlite_node) == []


def test_only_the_token_that_uploaded_may_confirm(sqlite_node: Node) -> None:
    owner = sign_in(sqlite_node, "admin")
    preview = _upload(owner, FILE).text
    other = sign_in(
        sqlite_node, "editor", TestClient(sqlite_node.app, raise_server_exceptions=False)
    )
    mine = other.get("/admin/import").text
    for action in ("/admin/import/confirm", "/admin/import/cancel"):
        r = other.post(action, data={"csrf": csrf_of(mine), "upload": _upload_id(preview)})
        assert r.status_code == 403, r.text
    assert _members(sqlite_node) == {} and len(_data_files(sqlite_node)) == 1
    # The job's page is the owner's (and admins'): the editor may not read the admin's.
    job = _confirm(owner, preview)
    assert other.get(job).status_code == 403
    _finished(owner, job)
    # A form posted twice imports once: the second finds the upload gone.
    r = owner.post(
        "/admin/import/confirm", data={"csrf": csrf_of(preview), "upload": _upload_id(preview)}
    )
    assert r.status_code == 404 and any("gone" in p for p in _problems(r.text))


def test_an_expired_upload_cannot_be_imported(sqlite_node: Node, clock: Clock) -> None:
    c = sign_in(sqlite_node)
    preview = _upload(c, FILE).text
    clock.advance(minutes=61)
    c = sign_in(sqlite_node)  # the session's idle limit passed too
    data = {"csrf": csrf_of(c.get("/admin/import").text), "upload": _upload_id(preview)}
    r = c.post("/admin/import/confirm", data=data)
    assert r.status_code == 404
    assert any("expired" in p for p in _problems(r.text))
    assert _staged(sqlite_node) == [] and _members(sqlite_node) == {}


def test_cancel_deletes_the_upload(sqlite_node: Node) -> None:
    c = sign_in(sqlite_node)
    preview = _upload(c, FILE).text
    data = {"csrf": csrf_of(preview), "upload": _upload_id(preview)}
    r = c.post("/admin/import/cancel", data=data, follow_redirects=True)
    assert r.status_code == 200 and 'id="cancelled"' in r.text
    assert _staged(sqlite_node) == [] and _members(sqlite_node) == {}


def test_an_unknown_upload_id_is_a_clear_error(sqlite_node: Node) -> None:
    c = sign_in(sqlite_node)
    csrf = csrf_of(c.get("/admin/import").text)
    for upload_id in ("0" * 32, "../../healthnet.toml"):
        r = c.post("/admin/import/confirm", data={"csrf": csrf, "upload": upload_id})
        assert r.status_code == 404 and any(
            "no such upload" in p or "gone" in p for p in _problems(r.text)
        )


# size limits -------------------------------------------------------------------------------


@pytest.fixture
def small_node(tmp_path: Path, clock: Clock) -> Node:
    url = f"sqlite:///{tmp_path / 'n.db'}"
    return make_node(tmp_path / "home", url, clock, max_body_bytes=4096, max_upload_bytes=32 * 1024)


def test_only_the_upload_may_send_more_than_the_body_limit(small_node: Node) -> None:
    rows = [f"Klinik {i};k{i};hospital;Berlin;DE" for i in range(300)]  # about 10 KB
    content = _excel_csv(rows)
    assert 4096 < len(content) < 32 * 1024
    c = sign_in(small_node)
    r = _upload(c, content)
    assert r.status_code == 200, r.text
    assert _count(r.text, "new") == 300
    # Every other route keeps the body limit, a console form as the API.
    csrf = csrf_of(r.text)
    form = c.post("/admin/m/new", data={"csrf": csrf, "name": "x" * 8000})
    assert form.status_code == 413
    api = small_node.client.post("/admin/members", content=content, headers=small_node.editor)
    assert api.status_code == 413 and api.headers["content-type"].startswith(
        "application/problem+json"
    )


def test_an_upload_over_its_limit_is_a_413_page(small_node: Node) -> None:
    content = _excel_csv([f"Klinik {i};k{i};hospital;Berlin;DE" for i in range(1200)])
    assert len(content) > 32 * 1024
    c = sign_in(small_node)
    r = _upload(c, content)
    assert r.status_code == 413
    assert "text/html" in r.headers["content-type"]
    [problem] = _problems(r.text)
    assert "too large" in problem and "32,768 bytes" in problem
    assert _staged(small_node) == []


def test_an_upload_streamed_over_its_limit_is_a_413_page_too(small_node: Node) -> None:
    # Chunked, with no Content-Length: the count as it streams in catches it.
    c = sign_in(small_node)
    csrf = csrf_of(c.get("/admin/import").text)
    content = _excel_csv([f"Klinik {i};k{i};hospital;Berlin;DE" for i in range(1200)])
    b = "healthnetboundary"
    body = (
        (
            f'--{b}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n'
            f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="m.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{b}--\r\n".encode()
    )
    parts = [body[i : i + 4096] for i in range(0, len(body), 4096)]
    headers = {"Content-Type": f"multipart/form-data; boundary={b}"}
    r = c.post("/admin/import", content=iter(parts), headers=headers)
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert r.status_code == 413 and "text/html" in r.headers["content-type"]
    assert any("too large" in p for p in _problems(r.text))
    assert _staged(small_node) == []


# the job -----------------------------------------------------------------------------------


def test_a_job_whose_heartbeat_stopped_reads_as_interrupted(
    sqlite_node: Node, clock: Clock
) -> None:
    c = sign_in(sqlite_node, "admin")
    now = format_utc(clock())
    job_id = "a" * 32
    with Session(writer(sqlite_node.engine)) as session:
        job_rows.create(session, job=job_rows.ImportJob(
            id=job_id, token_id="someone", kind="member", filename="big.csv", status="running",
            total=1000, done=500, started_at=now, heartbeat_at=now,
        ))  # fmt: skip
        session.commit()
    page = c.get(f"/admin/import/{job_id}").text
    refresh = page.index('<meta http-equiv="refresh" content="2">')
    assert refresh < page.index("</head>")  # in the head, where it belongs
    assert '<span id="done">500</span> of <span id="total">1000</span> rows' in page
    clock.advance(seconds=import_jobs.STALE.total_seconds() + 1)
    c = sign_in(sqlite_node, "admin")
    page = c.get(f"/admin/import/{job_id}").text
    assert 'http-equiv="refresh"' not in page
    assert "Interrupted" in page and "restarted" in page
    with Session(sqlite_node.engine) as session:
        row = job_rows.get(session, job_id=job_id)
        assert row is not None and row.status == "interrupted"


def test_an_unknown_job_is_404(sqlite_node: Node) -> None:
    c = sign_in(sqlite_node)
    assert c.get(f"/admin/import/{'b' * 32}").status_code == 404
    assert c.get("/admin/import/not-a-job").status_code == 422


def test_signed_out_the_import_pages_send_one_to_sign_in(sqlite_node: Node) -> None:
    for path in ("/admin/import", f"/admin/import/{'b' * 32}"):
        r = sqlite_node.client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/admin/sign-in")
    files = {"file": ("m.csv", FILE, "text/csv")}
    r = sqlite_node.client.post("/admin/import", files=files, follow_redirects=False)
    assert r.status_code == 303 and _staged(sqlite_node) == []


def test_the_console_links_to_the_import(sqlite_node: Node) -> None:
    c = sign_in(sqlite_node)
    home = c.get("/admin").text
    assert home.count('href="/admin/import"') == 2  # the nav and the home page's card
