"""The console's import: upload a file, see what it would do, confirm, follow the job.

Three steps, so that nothing is written before the person has seen what will be:

1. ``POST /admin/import`` takes the file (the one route with the larger body limit,
   ``settings.max_upload_bytes``), stages it (``node.uploads``) and answers the preview
   (``node.import_preview``): how many rows are new, changed or unchanged, and every bad
   row with its line, field and reason. A file that cannot be imported at all (empty, too
   large, not text, a bad header) answers the upload page naming the problem, and
   nothing is kept.
2. ``POST /admin/import/confirm`` carries the upload's random id and the CSRF token,
   nothing else: the file imported is the one previewed, never one the form names. It
   starts the import in the background (``node.import_jobs``) and redirects to the job.
3. ``GET /admin/import/<job>`` shows "N of M rows" while it runs, reloading itself every
   two seconds with a ``<meta http-equiv="refresh">`` (no script: the CSP allows none
   inline, and none is needed), then the report.

Editors and admins may import; a job's page is for the token that started it and for
admins. The CLI (``healthnet import``) reads files with the same ``node.sheets``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from node import import_jobs, import_rows, sheets, uploads
from node.db.session import Session
from node.deps import RuntimeDep
from node.dialects import PageRoute
from node.errors import Forbidden, NotFound, UploadGone
from node.import_preview import Preview, preview
from node.runtime import Runtime
from node.signins import SignedIn
from node.tokens import Role
from node.uploads import Upload
from node.web.console.auth import FormDep, SignedInDep, checked_form
from node.web.console.screen import go, show

UPLOAD_PATH = "/admin/import"
router = APIRouter(prefix="/admin", include_in_schema=False, route_class=PageRoute)

JobId = Annotated[str, Path(pattern=import_jobs.ID_PATTERN)]
KINDS = (("", "Detect from the columns"), ("member", "Members"), ("event", "Events"))
ENCODINGS = (
    "UTF-8 (with or without a byte order mark), UTF-16, or Windows-1252 as Excel saves "
    "“CSV”; cells separated by commas, semicolons or tabs; columns in any order"
)


def _upload_page(
    request: Request,
    who: SignedIn,
    *,
    errors: list[tuple[str, str]] = (),  # type: ignore[assignment]
    kind: str = "",
    cancelled: bool = False,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "title": "Import a file",
        "errors": list(errors),
        "by_field": dict(errors),
        "values": {"kind": kind},
        "kinds": KINDS,
        "member_columns": import_rows.MEMBER_COLUMNS,
        "event_columns": import_rows.EVENT_COLUMNS,
        "encodings": ENCODINGS,
        "max_mb": sheets.MAX_BYTES // (1024 * 1024),
        "max_rows": sheets.MAX_ROWS,
        "hours": uploads.LIFETIME.total_seconds() / 3600,
        "cancelled": cancelled,
    }
    return show(request, who, "import.html", context, status=status)


@router.get("/import", response_class=HTMLResponse)
def import_form(request: Request, who: SignedInDep, cancelled: int = 0) -> Response:
    return _upload_page(request, who, cancelled=bool(cancelled))


@router.post("/import", response_class=HTMLResponse)
async def upload(request: Request, runtime: RuntimeDep, who: SignedInDep) -> Response:
    try:
        form = await checked_form(request, runtime, expected=who.csrf)
    except StarletteHTTPException as exc:
        if exc.status_code != 413:
            raise
        reason = f"the file is too large: {exc.detail}; split it, or import it with the CLI"
        return _upload_page(request, who, errors=[("file", reason)], status=413)
    kind = str(form.get("kind") or "")
    file = form.get("file")
    errors: list[tuple[str, str]] = []
    if kind not in {k for k, _ in KINDS}:
        errors.append(("kind", "members, events, or detect from the columns"))
    if not isinstance(file, UploadFile) or not (file.filename or "").strip():
        errors.append(("file", "choose a file to upload (.csv, .xlsx or .jsonl)"))
    if errors or not isinstance(file, UploadFile):
        await form.close()
        return _upload_page(request, who, errors=errors, kind=kind, status=422)
    name = (file.filename or "").strip()
    data = await file.read()
    await form.close()
    if not data:
        return _upload_page(
            request, who, errors=[("file", f"{name} is empty")], kind=kind, status=422
        )
    return await run_in_threadpool(_stage, request, runtime, who, data, name, kind)


def _stage(
    request: Request, runtime: Runtime, who: SignedIn, data: bytes, name: str, kind: str
) -> Response:
    """Keep the file, and answer its preview; a file that cannot be imported at all is
    deleted at once and its problem named on the upload page."""
    s = runtime.settings
    staged = uploads.stage(
        s.home, data, filename=name, token_id=who.token.id, now=runtime.clock(),
        kind=kind or import_rows.detect_kind,
    )  # fmt: skip
    try:
        with Session(runtime.engine) as session:
            seen = preview(
                session, staged.path(s.home), kind=staged.kind, origin=s.node_id,
                region=s.region.value,
            )  # fmt: skip
    except BaseException:
        uploads.discard(s.home, staged.id)
        raise
    if seen.file_problem:
        uploads.discard(s.home, staged.id)
        errors = [("file", e.reason) for e in seen.errors]
        return _upload_page(request, who, errors=errors, kind=kind, status=422)
    return _preview_page(request, who, staged, seen)


def _preview_page(request: Request, who: SignedIn, staged: Upload, seen: Preview) -> Response:
    context = {
        "title": f"Import {staged.filename}?",
        "upload": staged,
        "preview": seen,
        "noun": "member" if staged.kind == "member" else "event",
        "list_url": "/admin/m" if staged.kind == "member" else "/admin/e",
        "kept": import_jobs.ERRORS_KEPT,
    }
    return show(request, who, "import_preview.html", context)


def _gone(request: Request, who: SignedIn, exc: UploadGone) -> HTMLResponse:
    return _upload_page(request, who, errors=[("file", str(exc))], status=404)


@router.post("/import/confirm", response_class=HTMLResponse)
def confirm(request: Request, runtime: RuntimeDep, who: SignedInDep, form: FormDep) -> Response:
    home, now = runtime.settings.home, runtime.clock()
    try:
        staged = uploads.find(home, str(form.get("upload") or ""), token_id=who.token.id, now=now)
        runtime.write_limiter.hit(who.token.id, now=runtime.rate_clock())
        job_id = import_jobs.start(runtime, upload=staged, token_id=who.token.id)
    except UploadGone as exc:
        return _gone(request, who, exc)
    return go(f"{UPLOAD_PATH}/{job_id}")


@router.post("/import/cancel", response_class=HTMLResponse)
def cancel(request: Request, runtime: RuntimeDep, who: SignedInDep, form: FormDep) -> Response:
    home = runtime.settings.home
    try:
        staged = uploads.find(
            home, str(form.get("upload") or ""), token_id=who.token.id, now=runtime.clock()
        )
    except UploadGone as exc:
        return _gone(request, who, exc)
    uploads.discard(home, staged.id)
    return go(f"{UPLOAD_PATH}?cancelled=1")


@router.get("/import/{job_id}", response_class=HTMLResponse)
def job(request: Request, runtime: RuntimeDep, who: SignedInDep, job_id: JobId) -> Response:
    seen = import_jobs.view(runtime, job_id=job_id)
    if seen is None:
        raise NotFound(f"no import {job_id}")
    if seen.token_id != who.token.id and who.token.role != Role.ADMIN:
        raise Forbidden("this import was started with another token; its page is theirs")
    context = {
        "title": f"Importing {seen.filename}" if seen.running else f"Import of {seen.filename}",
        "job": seen,
        "kept": import_jobs.ERRORS_KEPT,
        "list_url": "/admin/m" if seen.kind == "member" else "/admin/e",
    }
    return show(request, who, "import_job.html", context)
