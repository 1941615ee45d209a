"""Local writes: decide the version, allocate sequence numbers, sign, store. One transaction.

Every change a node makes to its own directory goes through :func:`publish`, from the
admin API (one draft) and from bulk import (hundreds per call). The caller supplies the
clock (``now``) and commits; a raised error means nothing was written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from federation import signing
from federation.canonical import sha256_tag
from federation.keys import SigningKey
from node.db import log, origins, store
from node.db.session import Session
from node.errors import Conflict, NotFound, StorageError
from schemas.instants import format_utc


class Mode(StrEnum):
    CREATE = "create"  # a new id; fails if it exists
    UPDATE = "update"  # replace an existing, live record
    DELETE = "delete"  # leave a signed tombstone
    UPSERT = "upsert"  # import: create, replace, or do nothing when unchanged


@dataclass(frozen=True)
class Draft:
    kind: str
    record_id: str
    mode: Mode
    body: dict[str, Any] | None = None
    expected_version: int | None = None


@dataclass
class Outcome:
    draft: Draft
    envelope: dict[str, Any] | None = None  # None: unchanged, nothing written
    previous_version: int | None = None

    @property
    def changed(self) -> bool:
        return self.envelope is not None


def publish(
    session: Session,
    *,
    key: SigningKey,
    origin: str,
    drafts: Sequence[Draft],
    now: datetime,
) -> list[Outcome]:
    """Turn drafts into signed envelopes and store them. Raises before writing anything.

    Writers in other processes (workers, replicas, ``healthnet import``) may publish at the
    same moment, so the origin's sequence row is locked first, before the versions held
    are read: the versions decided and the seqs allocated are then those of a log no one
    else is extending. SQLite's ``BEGIN IMMEDIATE`` (``writer``) already queues writers;
    PostgreSQL needs the row lock, or two updates of one record could both issue the same
    version (allocation alone, an ``UPDATE ... RETURNING``, would still be dense)."""
    origins.lock(session, origin=origin)
    ids = [d.record_id for d in drafts]
    foreign = store.foreign_owners(session, origin=origin, record_ids=ids)
    if foreign:
        rid, owner = next(iter(foreign.items()))
        raise Conflict(f"id {rid} belongs to origin {owner}; only it can change that record")
    held = store.current_versions(session, origin=origin, record_ids=ids)
    # A body is hashed here only when something compares it: a record held already, or an
    # id that comes again later in these drafts. A new record's body is canonicalised once,
    # by the seal (a bulk import is almost all new records).
    repeated = {rid for rid, n in Counter(ids).items() if n > 1}
    outcomes: list[Outcome] = []
    to_sign: list[tuple[Outcome, int]] = []
    for draft in drafts:
        cur = held.get(draft.record_id)
        outcome = Outcome(draft, previous_version=cur.version if cur else None)
        outcomes.append(outcome)
        compared = cur is not None or draft.record_id in repeated
        new_hash = signing.body_hash(draft.body) if compared and draft.body is not None else None
        version = decide(draft, cur, body_hash=new_hash)
        if version is None:
            continue
        to_sign.append((outcome, version))
        held[draft.record_id] = store.Current(draft.kind, version, draft.body is None, new_hash)
    if not to_sign:
        return outcomes
    first = store.allocate(session, origin=origin, count=len(to_sign))
    prev = log.header_hash_at(session, origin=origin, seq=first - 1)
    if prev is None and first > 1:  # a gap below the tip: never sign a broken chain
        raise StorageError(f"origin {origin} holds no record at seq {first - 1}")
    issued = format_utc(now)
    envelopes: list[store.Prepared] = []
    for offset, (outcome, version) in enumerate(to_sign):
        draft = outcome.draft
        envelope, header_bytes, body_bytes = signing.seal_with_bytes(
            key=key,
            origin=origin,
            seq=first + offset,
            record_id=draft.record_id,
            kind=draft.kind,
            version=version,
            issued_at=issued,
            body=draft.body,
            prev=prev,
        )
        outcome.envelope = envelope
        prev = sha256_tag(header_bytes)
        envelopes.append(
            store.Prepared(
                envelope,
                header_bytes.decode("utf-8"),
                None if body_bytes is None else body_bytes.decode("utf-8"),
            )
        )
    store.apply(session, envelopes, received_at=issued)
    return outcomes


def decide(draft: Draft, cur: store.Current | None, *, body_hash: str | None = None) -> int | None:
    """The version a draft would issue, ``None`` for "nothing to do", or raise. Pure.
    ``body_hash`` is the draft body's, when the caller has it already."""
    if cur is not None and cur.kind != draft.kind:
        if draft.mode in (Mode.CREATE, Mode.UPSERT):
            raise Conflict(f"id {draft.record_id} is already used by a {cur.kind}")
        raise NotFound(f"{draft.kind} {draft.record_id} not found")
    if draft.mode is Mode.CREATE:
        if cur is not None:
            raise Conflict(
                f"{draft.kind} {draft.record_id} already exists", current_version=cur.version
            )
        return 1
    if draft.mode is Mode.UPSERT:
        if cur is None:
            return 1
        if (
            not cur.deleted
            and draft.body is not None
            and cur.body_hash == (body_hash or signing.body_hash(draft.body))
        ):
            return None  # same content: re-importing a file changes nothing
        return cur.version + 1
    if cur is None or cur.deleted:
        raise NotFound(f"{draft.kind} {draft.record_id} not found")
    if draft.expected_version is not None and draft.expected_version != cur.version:
        raise Conflict(
            f"version {draft.expected_version} is stale; the current version is {cur.version}",
            current_version=cur.version,
        )
    return cur.version + 1
