"""Files uploaded to the console, kept between the preview and the confirmed import.

An upload is written to ``HOME/uploads/<id><suffix>`` (mode 0600, the directory 0700:
the file may hold contact details not yet published), beside ``<id>.meta`` (JSON) saying who
uploaded it, when, as which kind, and under which name. The id is 128 random bits; the
person's file name is only ever shown, never used as a path, and the suffix is one of a
fixed few (it tells ``node.sheets`` a workbook from a CSV, as the name would have).

The confirm form carries only the id, and only the token that uploaded may claim it.
Claiming renames the file, which the file system does atomically: a form posted twice
starts one import. An upload not confirmed within ``LIFETIME`` is gone; every new upload
sweeps the expired ones, and the import deletes its file when it ends.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from node.errors import Forbidden, UploadGone
from schemas.instants import format_utc, parse_utc

LIFETIME = timedelta(hours=1)
DIRECTORY = "uploads"
ID = re.compile(r"^[0-9a-f]{32}$")
CLAIMED = ".importing"
META = ".meta"  # never an upload's suffix (SUFFIXES)
STALE_CLAIM = timedelta(days=1)
# The suffixes node.sheets and node.importer tell formats by; anything else is read as CSV.
SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".jsonl", ".ndjson", ".json")
NAME_CHARS = 200


@dataclass(frozen=True)
class Upload:
    id: str
    kind: str
    filename: str
    suffix: str
    token_id: str
    uploaded_at: str

    def path(self, home: Path) -> Path:
        return folder(home) / f"{self.id}{self.suffix}"

    def claimed_path(self, home: Path) -> Path:
        return folder(home) / f"{self.id}{CLAIMED}{self.suffix}"

    def expires(self) -> datetime:
        return parse_utc(self.uploaded_at) + LIFETIME


def folder(home: Path) -> Path:
    path = home / DIRECTORY
    path.mkdir(mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)  # mkdir's mode follows the umask; this does not
    return path


def suffix_of(filename: str) -> str:
    lowered = filename.strip().lower()
    return next((s for s in SUFFIXES if lowered.endswith(s)), ".csv")


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def stage(
    home: Path,
    data: bytes,
    *,
    filename: str,
    kind: str | Callable[[Path], str],
    token_id: str,
    now: datetime,
) -> Upload:
    """Keep ``data`` as a new upload. ``kind`` is the person's choice, or a function that
    tells it from the staged file (``import_rows.detect_kind``)."""
    sweep(home, now=now)
    upload_id = secrets.token_hex(16)
    suffix = suffix_of(filename)
    path = folder(home) / f"{upload_id}{suffix}"
    _write_private(path, data)
    upload = Upload(
        id=upload_id,
        kind=kind if isinstance(kind, str) else kind(path),
        filename=filename.strip()[:NAME_CHARS] or "upload",
        suffix=suffix,
        token_id=token_id,
        uploaded_at=format_utc(now),
    )
    _write_private(_meta(home, upload.id), json.dumps(asdict(upload)).encode())
    return upload


def _meta(home: Path, upload_id: str) -> Path:
    return folder(home) / f"{upload_id}{META}"


def find(home: Path, upload_id: str, *, token_id: str, now: datetime) -> Upload:
    """The live upload ``upload_id`` of ``token_id`` (else ``UploadGone`` or ``Forbidden``)."""
    if not ID.fullmatch(upload_id):
        raise UploadGone("no such upload: it may have been imported, cancelled or expired")
    try:
        upload = Upload(**json.loads(_meta(home, upload_id).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise UploadGone(
            "this upload is gone: it was imported, cancelled or expired; upload the file again"
        ) from exc
    if now >= upload.expires():
        discard(home, upload.id)
        raise UploadGone(
            f"this upload expired (uploads are kept for {_hours()}); upload the file again"
        )
    if upload.token_id != token_id:
        raise Forbidden("this upload was made with another token; only it can import it")
    return upload


def claim(home: Path, upload: Upload) -> Path:
    """Take the upload for an import: its file moves to a name no other claim can take.
    The metadata goes, so the id can be neither confirmed again nor previewed."""
    target = upload.claimed_path(home)
    try:
        os.rename(upload.path(home), target)
    except FileNotFoundError as exc:
        raise UploadGone("this upload is being imported already, or is gone") from exc
    _meta(home, upload.id).unlink(missing_ok=True)
    return target


def discard(home: Path, upload_id: str) -> None:
    """Delete an upload's files, whatever state it is in (its data, then its metadata)."""
    if not ID.fullmatch(upload_id):
        return
    for path in sorted(folder(home).glob(f"{upload_id}*"), key=lambda p: p.name.endswith(META)):
        path.unlink(missing_ok=True)


def sweep(home: Path, *, now: datetime) -> int:
    """Delete every upload past its lifetime, any file whose metadata is gone, and a
    claimed file left by an import that a restart cut short (by its age on the file
    system's clock: a live import ends long before ``STALE_CLAIM``); the number removed."""
    removed = 0
    for path in list(folder(home).iterdir()):
        name = path.name
        upload_id = name[:32]
        if not ID.fullmatch(upload_id):
            continue
        if name == f"{upload_id}{META}":
            try:
                upload = Upload(**json.loads(path.read_text(encoding="utf-8")))
                expired = now >= upload.expires()
            except (OSError, ValueError, TypeError):
                expired = True
            if expired:
                discard(home, upload_id)
                removed += 1
            continue
        if CLAIMED in name:
            age = STALE_CLAIM
        elif _meta(home, upload_id).exists():
            continue  # its metadata says when it expires
        else:
            age = LIFETIME
        # By age on the file system's clock: a claimed file is its import's until long
        # after any import ends, and a data file alone may be one being staged now.
        try:
            stale = path.stat().st_mtime < time.time() - age.total_seconds()
        except FileNotFoundError:
            continue  # its import or its staging just ended
        if stale:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _hours() -> str:
    hours = LIFETIME.total_seconds() / 3600
    return "an hour" if hours == 1 else f"{hours:g} hours"
