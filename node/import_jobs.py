"""Imports confirmed in the console: run in a thread of their own, followed in the database.

A large file takes minutes to sign and store; no request should wait for that, and no
proxy timeout should cut it short. So the confirm request only starts the import
(``start``) and answers with the job's page, which reads the job's row: how many of the
file's rows are done, then the report. The row is in the database, not in this process's
memory, so whichever worker the browser reaches next can show it.

While the import runs, a heartbeat writes its progress every ``HEARTBEAT`` seconds (the
import itself only counts, so progress costs one small write a second, whatever the file
size). A restart kills the thread but not the row: a job still "running" with a heartbeat
older than ``STALE`` is read as interrupted (``view``). Rows already committed stay; the
import can be run again, and its unchanged rows then write nothing.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from node import audit, import_rows, importer, uploads
from node.db import import_jobs as rows
from node.db.engine import writer
from node.db.import_jobs import ImportJob
from node.db.session import Session
from node.importer import Report, RowError
from node.runtime import Runtime
from node.uploads import Upload
from schemas.instants import format_utc

log = logging.getLogger(__name__)

HEARTBEAT = 1.0  # seconds between progress writes
STALE = timedelta(minutes=1)  # without a heartbeat: a running job is read as interrupted
ERRORS_KEPT = 1000  # bad rows a page lists; the count of rejected rows stays exact
ID_PATTERN = r"^[0-9a-f]{32}$"
INTERRUPTED = (
    "the import stopped when the node restarted; the rows committed before are kept: "
    "upload the file again to import the rest (rows already imported are unchanged)"
)


@dataclass(frozen=True)
class JobView:
    """A job as its page shows it."""

    id: str
    token_id: str
    kind: str
    filename: str
    status: str  # running, done, failed or interrupted
    total: int
    done: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    started_at: str
    finished_at: str | None
    detail: str = ""
    errors: list[RowError] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.status == "running"


def start(runtime: Runtime, *, upload: Upload, token_id: str) -> str:
    """Claim ``upload`` and import it in a thread; the job's id. Raises ``UploadGone``
    if the upload was claimed already (a form posted twice starts one import)."""
    home = runtime.settings.home
    path = uploads.claim(home, upload)
    job_id = secrets.token_hex(16)
    now = format_utc(runtime.clock())
    try:
        job = ImportJob(
            id=job_id, token_id=token_id, kind=upload.kind, filename=upload.filename,
            status="running", total=import_rows.row_count(path), started_at=now, heartbeat_at=now,
        )  # fmt: skip
        with Session(writer(runtime.engine)) as session:
            rows.create(session, job=job)
            session.commit()
    except BaseException:
        uploads.discard(home, upload.id)
        raise
    worker = threading.Thread(
        target=_run, args=(runtime, job_id, upload, path), name=f"import-{job_id[:8]}", daemon=True
    )
    worker.start()
    return job_id


def _run(runtime: Runtime, job_id: str, upload: Upload, path: Path) -> None:
    done = 0
    stop = threading.Event()

    def advance(n: int) -> None:
        nonlocal done
        done += n

    def beat() -> None:
        while not stop.wait(HEARTBEAT):
            try:
                with Session(writer(runtime.engine)) as session:
                    rows.heartbeat(
                        session, job_id=job_id, done=done, at=format_utc(runtime.clock())
                    )
                    session.commit()
            except Exception:  # a missed beat is no reason to stop the import
                log.warning("import %s: heartbeat not written", job_id, exc_info=True)

    beating = threading.Thread(target=beat, name=f"import-{job_id[:8]}-beat", daemon=True)
    beating.start()
    report: Report | None = None
    failure = ""
    s = runtime.settings
    try:
        report = importer.run_import(
            runtime.engine, path=path, kind=upload.kind, key=runtime.key, origin=s.node_id,
            region=s.region.value, clock=runtime.clock, progress=advance,
        )  # fmt: skip
    except Exception as exc:
        log.exception("import %s of %s failed", job_id, upload.filename)
        failure = f"the import failed ({type(exc).__name__}); rows committed before are kept"
    finally:
        stop.set()
        beating.join()
        uploads.discard(s.home, upload.id)  # before the job says it ended: nothing left
    try:
        _finish(runtime, job_id, upload, report, failure, done)
    except Exception:  # the row stays "running" until its heartbeat is stale: interrupted
        log.exception("import %s: its end could not be recorded", job_id)


def _finish(
    runtime: Runtime, job_id: str, upload: Upload, report: Report | None, failure: str, done: int
) -> None:
    """The job's final row and its audit entry, in one transaction."""
    now = runtime.clock()
    with Session(writer(runtime.engine)) as session:
        if report is None:
            rows.finish(session, job_id=job_id, status="failed", at=format_utc(now),
                        done=done, detail=failure)  # fmt: skip
            outcome, detail = "failed", failure
        else:
            kept = [[e.line, e.field, e.reason] for e in report.errors[:ERRORS_KEPT]]
            rows.finish(
                session, job_id=job_id, status="done", at=format_utc(now), done=done,
                created=report.created, updated=report.updated, unchanged=report.unchanged,
                rejected=report.rejected_rows, errors=json.dumps(kept, ensure_ascii=False),
            )  # fmt: skip
            outcome = "ok"
            detail = (
                f"{report.created} created, {report.updated} updated, "
                f"{report.unchanged} unchanged, {report.rejected_rows} rejected"
            )
        audit.record_action(
            session, now=now, token_id=upload.token_id, action=f"import {upload.kind}s",
            outcome=outcome, target_kind=upload.kind, detail=f"{upload.filename}: {detail}",
        )  # fmt: skip
        session.commit()


def view(runtime: Runtime, *, job_id: str) -> JobView | None:
    """The job as its page shows it; a running job whose heartbeat stopped is marked
    interrupted here (by whichever worker reads it first)."""
    now = runtime.clock()
    with Session(runtime.engine, expire_on_commit=False) as session:
        row = rows.get(session, job_id=job_id)
    if row is None:
        return None
    before = format_utc(now - STALE)
    if row.status == "running" and row.heartbeat_at < before:
        with Session(writer(runtime.engine), expire_on_commit=False) as session:
            rows.interrupt_stale(
                session, job_id=job_id, before=before, at=format_utc(now), detail=INTERRUPTED
            )
            session.commit()
            row = rows.get(session, job_id=job_id) or row
    return _view(row)


def _view(row: ImportJob) -> JobView:
    errors = [RowError(int(line), str(f), str(r)) for line, f, r in json.loads(row.errors)]
    return JobView(
        id=row.id, token_id=row.token_id, kind=row.kind, filename=row.filename,
        status=row.status, total=row.total, done=min(row.done, row.total or row.done),
        created=row.created, updated=row.updated, unchanged=row.unchanged,
        rejected=row.rejected, started_at=row.started_at, finished_at=row.finished_at,
        detail=row.detail, errors=errors,
    )  # fmt: skip
