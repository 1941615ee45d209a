"""The console's import jobs (node.import_jobs runs them; this module only stores).

The caller owns the transaction, as everywhere in node/db: the job's thread writes its
progress in short transactions of its own while the request that started it has long
answered, and the status page, on any worker, reads it back.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col

from node.db.tables import ImportJob

__all__ = ["ImportJob", "create", "finish", "get", "heartbeat", "interrupt_stale"]


def create(session: Session, *, job: ImportJob) -> None:
    session.add(job)
    session.flush()


def get(session: Session, *, job_id: str) -> ImportJob | None:
    return session.get(ImportJob, job_id)


def heartbeat(session: Session, *, job_id: str, done: int, at: str) -> None:
    """The rows done so far, and that the job is alive at ``at`` (only while running)."""
    session.execute(
        update(ImportJob)
        .where(col(ImportJob.id) == job_id, col(ImportJob.status) == "running")
        .values(done=done, heartbeat_at=at)
    )


def finish(session: Session, *, job_id: str, status: str, at: str, **values: object) -> None:
    """The job's final state: its report, or why it failed."""
    session.execute(
        update(ImportJob)
        .where(col(ImportJob.id) == job_id)
        .values(status=status, finished_at=at, heartbeat_at=at, **values)
    )


def interrupt_stale(session: Session, *, job_id: str, before: str, at: str, detail: str) -> bool:
    """Mark the job interrupted if it still says running but its last heartbeat is older
    than ``before`` (its process is gone); whether it did. Conditional, so a live job is
    never touched, whichever worker asks."""
    result = session.execute(
        update(ImportJob)
        .where(
            col(ImportJob.id) == job_id,
            col(ImportJob.status) == "running",
            col(ImportJob.heartbeat_at) < before,
        )
        .values(status="interrupted", finished_at=at, detail=detail)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
