"""The record store: append signed envelopes and keep the search projection in step.

Batch-first: one call applies a list of already-accepted envelopes with a handful of
statements (SQLAlchemy Core, no per-row ORM merge), because bulk import and peer sync move
thousands of records at a time. The caller owns the transaction; nothing here commits, so a
failure anywhere leaves no record, no sequence gap and no index entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, delete, insert, select, update
from sqlmodel import Session

from federation import digest
from federation.canonical import canonical_bytes, sha256_tag
from node.db import bulk
from node.db.batches import chunks
from node.db.projection import project
from node.db.tables import ENTRIES, RECORDS, SEQUENCES, TAGS, OriginSequence
from node.errors import MissingSequence


@dataclass(frozen=True)
class Prepared:
    """An envelope with its canonical texts already computed (ingest has them from
    verification; recomputing costs more than the database write)."""

    envelope: dict[str, Any]
    header_text: str
    body_text: str | None


Storable = dict[str, Any] | Prepared

RECORD_COLUMNS = ("origin", "seq", "record_id", "kind", "version", "issued_at", "deleted",
                  "current", "header", "sig", "body", "received_at")  # fmt: skip
VALUE = "_value"  # a row dict's parsed body, beside its canonical text


@dataclass(frozen=True)
class Current:
    """The current version of a record as the store knows it."""

    kind: str
    version: int
    deleted: bool
    body_hash: str | None


def ensure_origin(session: Session, *, origin: str) -> None:
    if session.get(OriginSequence, origin) is None:
        session.add(OriginSequence(origin=origin, last_seq=0))
        session.flush()


def allocate(session: Session, *, origin: str, count: int) -> int:
    """Reserve ``count`` sequence numbers; returns the first. Rolled back with the transaction."""
    row = session.execute(
        update(SEQUENCES)
        .where(SEQUENCES.c.origin == origin)
        .values(last_seq=SEQUENCES.c.last_seq + count)
        .returning(SEQUENCES.c.last_seq)
    ).first()
    if row is None:
        raise MissingSequence(f"origin {origin} has no sequence row; call ensure_origin first")
    return int(row[0]) - count + 1


def last_seq(session: Session, *, origin: str) -> int:
    row = session.get(OriginSequence, origin)
    return row.last_seq if row else 0


def current_versions(
    session: Session, *, origin: str, record_ids: Iterable[str]
) -> dict[str, Current]:
    ids = list(dict.fromkeys(record_ids))
    found: dict[str, Current] = {}
    for chunk in chunks(ids):
        rows = session.execute(
            select(
                RECORDS.c.record_id,
                RECORDS.c.kind,
                RECORDS.c.version,
                RECORDS.c.deleted,
                RECORDS.c.header,
            )
            .where(RECORDS.c.origin == origin)
            .where(RECORDS.c.record_id.in_(chunk))
            .where(RECORDS.c.current.is_(True))
        )
        for rid, kind, version, deleted, header in rows:
            found[rid] = Current(kind, version, bool(deleted), json.loads(header)["body_hash"])
    return found


def foreign_owners(session: Session, *, origin: str, record_ids: Iterable[str]) -> dict[str, str]:
    """Ids among ``record_ids`` that another origin already publishes: only a record's
    origin may ever change it, so such an id can never be (re)used here."""
    ids = list(dict.fromkeys(record_ids))
    owners: dict[str, str] = {}
    for chunk in chunks(ids):
        for rid, owner in session.execute(
            select(RECORDS.c.record_id, RECORDS.c.origin)
            .where(RECORDS.c.record_id.in_(chunk))
            .where(RECORDS.c.origin != origin)
            .distinct()
        ):
            owners[rid] = owner
    return owners


def apply(
    session: Session,
    envelopes: Sequence[Storable],
    *,
    received_at: str,
    history: Sequence[Storable] = (),
) -> None:
    """Store envelopes that the caller has verified and accepted.

    ``envelopes`` become current (superseding what is held for their record ids);
    ``history`` rows are stored as stubs only (an older version, or a body-less one): they
    keep the origin's log dense without changing the directory. Within one call the same
    record may appear more than once; the last one wins. Every row also advances its
    origin's summary (last seq, chain head, count, digest).
    """
    if not envelopes and not history:
        return
    record_rows: list[dict[str, Any]] = []
    superseded: list[tuple[str, str]] = []
    latest: dict[str, dict[str, Any]] = {}
    for env in envelopes:
        row = _row(env, received_at=received_at, current=True)
        key = row["origin"] + "/" + row["record_id"]
        if key in latest:  # an earlier envelope of this batch is superseded at once
            latest[key]["body"] = None
            latest[key]["current"] = False
        else:
            superseded.append((row["origin"], row["record_id"]))
        latest[key] = row
        record_rows.append(row)
    record_rows.extend(_row(env, received_at=received_at, current=False) for env in history)

    if superseded:
        # The previous current version becomes a stub: header and signature stay (they
        # prove the sequence number was used), the content goes.
        bulk.update(
            session,
            RECORDS,
            where=("origin", "record_id"),
            rows=superseded,
            fixed_sets={"current": "FALSE", "body": "NULL"},
            fixed_where={"current": "TRUE"},
        )
    record_rows.sort(key=lambda r: (r["origin"], r["seq"]))
    bulk.insert(session, RECORDS, record_rows, RECORD_COLUMNS)
    _summarise(session, record_rows)
    if latest:
        _project(session, list(latest.values()), received_at=received_at)


def fill(session: Session, items: Sequence[Prepared], *, received_at: str) -> None:
    """Give stubs already held their bodies back, making them current (see ingest)."""
    if not items:
        return
    rows = [_row(item, received_at=received_at, current=True) for item in items]
    for row in rows:
        session.execute(
            update(RECORDS)
            .where(RECORDS.c.origin == row["origin"], RECORDS.c.record_id == row["record_id"])
            .where(RECORDS.c.current.is_(True))
            .values(current=False, body=None)
        )
        session.execute(
            update(RECORDS)
            .where(RECORDS.c.origin == row["origin"], RECORDS.c.seq == row["seq"])
            # The body arrives now: harvesters that ask "what changed since" (FHIR _since)
            # key on received_at, so a restored body must count as new.
            .values(current=True, body=row["body"], received_at=received_at)
        )
    _project(session, rows, received_at=received_at)


def withheld(session: Session, *, limit: int = 100) -> list[tuple[str, int]]:
    """(origin, seq) of stubs that are the newest version of their record: a relay
    withheld the body. Pulls ask peers for these seqs again."""
    rows = session.execute(_withheld_statement(), {"limit": limit}).all()
    return [(r[0], int(r[1])) for r in rows]


@cache
def _withheld_statement() -> Select[tuple[str, int]]:
    """Built once: every pull of every peer runs it, and building this select costs
    three times what SQLite takes to answer it."""
    newer = RECORDS.alias("newer")
    return (
        select(RECORDS.c.origin, RECORDS.c.seq)
        .where(RECORDS.c.body.is_(None), RECORDS.c.deleted.is_(False))
        .where(RECORDS.c.kind.in_(("member", "event")))
        .where(
            ~select(newer.c.seq)
            .where(
                newer.c.origin == RECORDS.c.origin,
                newer.c.record_id == RECORDS.c.record_id,
                newer.c.version > RECORDS.c.version,
            )
            .exists()
        )
        .order_by(RECORDS.c.origin, RECORDS.c.seq)
        .limit(bindparam("limit"))
    )


def _row(item: Storable, *, received_at: str, current: bool) -> dict[str, Any]:
    if isinstance(item, Prepared):
        env, header_text, body_text = item.envelope, item.header_text, item.body_text
    else:
        env, header_text, body_text = item, None, None
    header, body = env["record"], env["body"]
    if header_text is None:
        header_text = canonical_bytes(header).decode("utf-8")
    if body is not None and body_text is None and current:
        body_text = canonical_bytes(body).decode("utf-8")
    return {
        "origin": header["origin"],
        "seq": header["seq"],
        "record_id": header["id"],
        "kind": header["kind"],
        "version": header["version"],
        "issued_at": header["issued_at"],
        "deleted": header["deleted"],
        "current": current,
        "header": header_text,
        "sig": env["sig"],
        "body": None if body is None or not current else body_text,
        "received_at": received_at,
        # The body as a value, for the projection (never written: not a column).
        VALUE: None if body is None or not current else body,
    }


def _summarise(session: Session, rows: list[dict[str, Any]]) -> None:
    """Advance each origin's last seq, chain head, count and digest (rows sorted by seq)."""
    by_origin: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_origin.setdefault(row["origin"], []).append(row)
    for origin, group in by_origin.items():
        held_seq, held_count, held_digest = _held_summary(session, origin)
        hashes = [sha256_tag(r["header"].encode("utf-8")) for r in group]
        total = sum(
            digest.element(r["record_id"], r["version"], h)
            for r, h in zip(group, hashes, strict=True)
        )
        session.execute(
            update(SEQUENCES)
            .where(SEQUENCES.c.origin == origin)
            .values(
                last_seq=max(held_seq, group[-1]["seq"]),
                head=hashes[-1],
                count=held_count + len(group),
                digest=digest.add(held_digest, total),
            )
        )


def _held_summary(session: Session, origin: str) -> tuple[int, int, str]:
    """(last seq, count, digest) held of ``origin``, its row locked for this transaction,
    and created empty the first time the origin is seen. Core, not ``ensure_origin``'s ORM
    lookup: every page of every pull passes here (issue 13's periodic round)."""
    c = SEQUENCES.c
    locked = select(c.last_seq, c.count, c.digest).where(c.origin == origin).with_for_update()
    row = session.execute(locked).first()
    if row is None:
        empty = {"origin": origin, "last_seq": 0, "count": 0, "digest": digest.EMPTY}
        session.execute(insert(SEQUENCES).values(**empty))
        row = session.execute(locked).one()
    return int(row[0]), int(row[1]), str(row[2])


def _project(session: Session, rows: list[dict[str, Any]], *, received_at: str) -> None:
    existing = _entry_pks(session, [r["record_id"] for r in rows])
    gone = [existing[r["record_id"]] for r in rows if r["deleted"] and r["record_id"] in existing]
    for chunk in chunks(gone):
        session.execute(delete(TAGS).where(TAGS.c.entry_pk.in_(chunk)))
        session.execute(delete(ENTRIES).where(ENTRIES.c.pk.in_(chunk)))

    inserts: list[dict[str, Any]] = []
    insert_tags: list[list[tuple[str, str]]] = []
    updates: list[dict[str, Any]] = []
    tag_rows: list[tuple[int, str, str]] = []
    for r in rows:
        if r["deleted"] or r["body"] is None or r["kind"] not in ("member", "event"):
            continue
        value = r.get(VALUE)
        proj = project(r["kind"], json.loads(r["body"]) if value is None else value)
        values = {
            **proj.columns,
            "record_id": r["record_id"],
            "origin": r["origin"],
            "kind": r["kind"],
            "version": r["version"],
            "seq": r["seq"],
            "body": r["body"],
            "updated_at": r["issued_at"],
        }
        pk = existing.get(r["record_id"])
        if pk is None:
            inserts.append(values)
            insert_tags.append(proj.tags)
        else:
            updates.append({**values, "_pk": pk})
            tag_rows.extend((pk, t, v) for t, v in proj.tags)

    if updates:
        session.execute(delete(TAGS).where(TAGS.c.entry_pk.in_([u["_pk"] for u in updates])))
        # executemany UPDATE: SET columns come from the parameter dicts' keys.
        session.execute(update(ENTRIES).where(ENTRIES.c.pk == bindparam("_pk")), updates)
    if inserts:
        # Multi-row statements (see bulk.insert_values: the full-text trigger's cost);
        # tags are matched to the new pks by record id.
        pks = dict(
            bulk.insert_values(
                session, ENTRIES, inserts, tuple(inserts[0]), returning=("record_id", "pk")
            )
        )
        for values, tags in zip(inserts, insert_tags, strict=True):
            pk = pks[values["record_id"]]
            tag_rows.extend((pk, t, v) for t, v in tags)
    bulk.insert_tuples(session, TAGS, ("entry_pk", "tag", "value"), tag_rows)


def _entry_pks(session: Session, record_ids: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in chunks(record_ids):
        for rid, pk in session.execute(
            select(ENTRIES.c.record_id, ENTRIES.c.pk).where(ENTRIES.c.record_id.in_(chunk))
        ):
            found[rid] = pk
    return found
