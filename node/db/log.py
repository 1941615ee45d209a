"""Each origin's log as stored: tips, chain links, what is held of record ids, pages.

The sync protocol reads and extends one origin's hash chain at a time; these are the
queries it needs, kept here so the puller, the ingest step and the federation endpoints
never build SQL. Pages and envelopes are assembled from the stored canonical texts
without parsing them (see ``envelope_text``), so serving a page costs about one string
join per record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlmodel import Session

from federation import digest
from federation.canonical import sha256_tag
from federation.merge import Held, Tip
from node.db.batches import chunks
from node.db.tables import RECORDS, SEQUENCES


@dataclass(frozen=True)
class OriginSummary:
    """One origin's dense prefix as held: 1..last_seq, its chain head, count and digest."""

    origin: str
    last_seq: int
    head: str | None
    count: int
    digest: str


def envelope_text(header: str, body: str | None, sig: str) -> str:
    """The wire envelope ``{"record", "body", "sig"}`` from stored texts. The header and
    body are the canonical texts exactly as signed and the signature is base64url, so
    joining them gives valid JSON without a parse and re-encode."""
    return f'{{"record":{header},"body":{body if body is not None else "null"},"sig":"{sig}"}}'


def tip(session: Session, *, origin: str) -> Tip:
    """The dense prefix held of ``origin``: the next record must have seq = tip + 1 and
    ``prev`` = the tip's header hash."""
    row = session.execute(_tip_statement(), {"origin": origin}).first()
    return Tip(0, None) if row is None else Tip(int(row[0]), row[1])


@cache
def _tip_statement() -> Select[Any]:
    """Built once: every pull and every page reads a tip, and building the select costs
    more than SQLite takes to answer it (as ``store._withheld_statement``)."""
    c = SEQUENCES.c
    return select(c.last_seq, c.head).where(c.origin == bindparam("origin"))


def tips(session: Session) -> dict[str, int]:
    """The ``last_seq`` of the dense prefix held of every origin, in one query: a pull
    reads it once to skip the origins a peer holds no further than we do."""
    c = SEQUENCES.c
    return {o: int(n) for o, n in session.execute(select(c.origin, c.last_seq)).all()}


def summaries(session: Session) -> list[OriginSummary]:
    """Every origin of which something is held, in origin order."""
    return _summaries(session.execute(_summaries_statement(False)))


def summary(session: Session, *, origin: str) -> OriginSummary | None:
    """One origin's dense prefix as held (``summaries``), or None when nothing is held."""
    found = _summaries(session.execute(_summaries_statement(True), {"origin": origin}))
    return found[0] if found else None


@cache
def _summaries_statement(one: bool) -> Select[Any]:
    """Built once, for every origin or (``one``) a bound one: every peer's heads request
    and every nudged pull read these (as ``_tip_statement``)."""
    c = SEQUENCES.c
    query = select(c.origin, c.last_seq, c.head, c.count, c.digest).where(c.last_seq > 0)
    if one:
        query = query.where(c.origin == bindparam("origin"))
    return query.order_by(c.origin)


def _summaries(rows: Iterable[Any]) -> list[OriginSummary]:
    return [OriginSummary(o, int(n), h, int(k), d) for o, n, h, k, d in rows]


def header_hash_at(session: Session, *, origin: str, seq: int) -> str | None:
    """The chain link to the record held at ``seq``, from its stored canonical header: what
    the next record's ``prev`` must be. None below seq 1 (the first record links to
    nothing) or when nothing is held there."""
    if seq < 1:
        return None
    header = session.execute(_header_statement(), {"origin": origin, "seq": seq}).scalar()
    return None if header is None else sha256_tag(header.encode("utf-8"))


@cache
def _header_statement() -> Select[Any]:
    """Built once (``_tip_statement``): a pull compares the header at every origin's head."""
    c = RECORDS.c
    return select(c.header).where(c.origin == bindparam("origin"), c.seq == bindparam("seq"))


def header_hashes_at(
    session: Session, *, at: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], str]:
    """``header_hash_at`` for several (origin, seq) in one session; a pair with nothing
    held there is left out. One lookup by primary key each: a row-value IN list costs
    more to build than the few lookups a pull makes."""
    out = {}
    for origin, seq in set(at):
        found = header_hash_at(session, origin=origin, seq=seq)
        if found is not None:
            out[(origin, seq)] = found
    return out


@dataclass
class Holdings:
    """What the receiver holds of the ids in a page: every version's header hash, and the
    ids that already belong to another origin."""

    versions: dict[str, dict[int, str]]
    foreign: dict[str, str]

    def current(self, record_id: str) -> Held | None:
        versions = self.versions.get(record_id)
        if not versions:
            return None
        top = max(versions)
        return Held(top, versions[top], frozenset(versions) - {top})


def holdings(session: Session, *, origin: str, record_ids: Iterable[str]) -> Holdings:
    """One query per 500 ids: all versions held of each id (history rows count, so an old
    version cannot be replayed as new), and which ids another origin already uses."""
    held = Holdings({}, {})
    ids = sorted(set(record_ids))
    for chunk in chunks(ids):
        rows = session.execute(
            select(RECORDS.c.origin, RECORDS.c.record_id, RECORDS.c.version, RECORDS.c.header)
            .where(RECORDS.c.record_id.in_(chunk))
        )
        for owner, rid, version, header in rows:
            if owner != origin:
                held.foreign[rid] = owner
                continue
            held.versions.setdefault(rid, {})[int(version)] = sha256_tag(header.encode("utf-8"))
    return held


def restorable(session: Session, *, origin: str, seq: int, record_id: str, version: int) -> bool:
    """Whether the record held at ``seq`` is a stub that a relay withheld: no body, not a
    tombstone, and still the newest version of its id (else its body is rightly gone)."""
    row = session.execute(
        select(RECORDS.c.body, RECORDS.c.deleted).where(
            RECORDS.c.origin == origin, RECORDS.c.seq == seq
        )
    ).first()
    if row is None or row[0] is not None or row[1]:
        return False
    newer = session.execute(
        select(func.count())
        .select_from(RECORDS)
        .where(
            RECORDS.c.origin == origin,
            RECORDS.c.record_id == record_id,
            RECORDS.c.version > version,
        )
    ).scalar_one()
    return int(newer) == 0


def conflicting(session: Session, *, origin: str, header: dict[str, Any]) -> str | None:
    """Evidence of equivocation: the signed header already held that conflicts with the
    incoming one (the same seq, else the same id and version, else the tip the incoming
    ``prev`` fails to link to), as ``{"record", "sig"}`` JSON text."""
    wheres: list[tuple[Any, ...]] = [
        (RECORDS.c.seq == header.get("seq"),),
        (RECORDS.c.record_id == header.get("id"), RECORDS.c.version == header.get("version")),
    ]
    if isinstance(header.get("seq"), int):
        wheres.append((RECORDS.c.seq == header["seq"] - 1,))
    found = None
    for where in wheres:  # in that order: the first held header found is the evidence
        found = session.execute(
            select(RECORDS.c.header, RECORDS.c.sig).where(RECORDS.c.origin == origin, *where)
        ).first()
        if found is not None:
            break
    if found is None:
        return None
    return json.dumps({"record": json.loads(found[0]), "sig": found[1]})


def page_text(session: Session, *, origin: str, after: int, limit: int, roster_version: int) -> str:
    """A sync page: records of ``origin`` with seq in (after, after + limit], ascending and
    dense, as JSON text. Superseded versions come as stubs (body null). ``roster_version``
    is the roster this node trusts: a puller nudged straight to the page (no heads first)
    learns from it whether it must fetch a newer roster before these records verify."""
    rows = session.execute(
        select(RECORDS.c.header, RECORDS.c.body, RECORDS.c.sig)
        .where(RECORDS.c.origin == origin, RECORDS.c.seq > after)
        .order_by(RECORDS.c.seq)
        .limit(limit)
    ).all()
    last = session.execute(
        select(SEQUENCES.c.last_seq).where(SEQUENCES.c.origin == origin)
    ).scalar_one_or_none()
    items = ",".join(envelope_text(h, b, s) for h, b, s in rows)
    return (
        f'{{"origin":"{origin}","after":{after},"last_seq":{last or 0},'
        f'"roster_version":{roster_version},"records":[{items}]}}'
    )


def current_envelope_text(session: Session, *, origin: str, record_id: str) -> str | None:
    """The current signed envelope of one of ``origin``'s record ids, or None."""
    row = session.execute(
        select(RECORDS.c.header, RECORDS.c.body, RECORDS.c.sig).where(
            RECORDS.c.origin == origin,
            RECORDS.c.record_id == record_id,
            RECORDS.c.current.is_(True),
        )
    ).first()
    if row is None or row[1] is None:
        return None
    return envelope_text(row[0], row[1], row[2])


def digest_elements(
    session: Session, *, origin: str, from_seq: int, to_seq: int
) -> Iterator[int]:
    """The set-digest elements of ``origin``'s records with seq in [from_seq, to_seq]."""
    rows = session.execute(
        select(RECORDS.c.header).where(
            RECORDS.c.origin == origin, RECORDS.c.seq >= from_seq, RECORDS.c.seq <= to_seq
        )
    ).scalars()
    for header in rows:
        data = json.loads(header)
        yield digest.element(data["id"], data["version"], sha256_tag(header.encode()))


def current_signed(session: Session, *, record_id: str) -> tuple[str, str | None, str] | None:
    """(canonical header, canonical body or None, sig) of a record's current version, as
    stored: what a read-time re-check (federation.provenance.check) takes."""
    row = session.execute(
        select(RECORDS.c.header, RECORDS.c.body, RECORDS.c.sig).where(
            RECORDS.c.record_id == record_id, RECORDS.c.current.is_(True)
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])
