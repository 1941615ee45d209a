"""The write path shared by the admin API and the console, for members and events: scope,
If-Match, publish, audit."""

from __future__ import annotations

import re
from typing import Any

from fastapi import BackgroundTasks
from pydantic import BaseModel

from federation.errors import HealthnetError
from node import audit
from node.db.engine import writer
from node.db.entries import one as entry
from node.db.session import Session
from node.db.tokens import ApiToken
from node.deps import Announce
from node.errors import InvalidInput
from node.publisher import Draft, Mode, publish
from node.runtime import Runtime
from schemas.record import Envelope


class WriteResult(BaseModel):
    """What a write returns: where the record now stands, and the signed envelope itself."""

    id: str
    kind: str
    version: int
    seq: int
    deleted: bool
    record: Envelope


_IF_MATCH = re.compile(r'^(?:W/)?"?([1-9][0-9]{0,15})"?$')


def expected_version(if_match: str | None) -> int | None:
    """``If-Match: "3"`` states the version a write replaces; ``*`` or absent states none."""
    if if_match is None or if_match.strip() == "*":
        return None
    match = _IF_MATCH.match(if_match.strip())
    if match is None:
        raise InvalidInput([("header.if-match", 'expected a version number such as "3"')])
    return int(match.group(1))


def body_of(model: BaseModel | None, runtime: Runtime) -> dict[str, Any] | None:
    if model is None:
        return None
    body = model.model_dump(mode="json", exclude_none=True)
    if body.get("region") != runtime.settings.region.value:
        raise InvalidInput(
            [("body.region", f"this node publishes {runtime.settings.region.value} records only")]
        )
    return body


def write(
    session: Session,
    runtime: Runtime,
    token: ApiToken,
    *,
    background: BackgroundTasks | None = None,
    announce: Announce | None = None,
    kind: str,
    record_id: str,
    mode: Mode,
    body: BaseModel | None = None,
    if_match: str | None = None,
) -> WriteResult:
    action = f"{mode.value} {kind}"
    now = runtime.clock()
    try:
        draft = Draft(kind, record_id, mode, body_of(body, runtime), expected_version(if_match))
        (outcome,) = publish(
            session, key=runtime.key, origin=runtime.settings.node_id, drafts=[draft], now=now
        )
        envelope = outcome.envelope
        assert envelope is not None  # create/update/delete always issue a version
        header = envelope["record"]
        audit.record_action(
            session,
            now=now,
            token_id=token.id,
            action=action,
            outcome="ok",
            target_kind=kind,
            target_id=record_id,
            version=header["version"],
            seq=header["seq"],
        )
        session.commit()
    except HealthnetError as exc:
        session.rollback()
        with Session(writer(runtime.engine)) as log_session:
            audit.record_action(
                log_session,
                now=now,
                token_id=token.id,
                action=action,
                outcome="rejected",
                target_kind=kind,
                target_id=record_id,
                detail=str(exc),
            )
            log_session.commit()
        raise
    if background is not None and announce is not None:
        # After the response: tell peers there is news, so they pull now, not at the next tick.
        background.add_task(announce, header["seq"])
    return WriteResult(
        id=record_id,
        kind=kind,
        version=header["version"],
        seq=header["seq"],
        deleted=header["deleted"],
        record=Envelope.model_validate(envelope),
    )


def organizer_exists(session: Session, body: BaseModel) -> None:
    """An event's organizer, when named, must be a member in the directory (any region):
    a rule that needs the database, so it runs in the write's transaction, not in the
    model."""
    organizer = getattr(body, "organizer", None)
    if organizer is None:
        return
    if entry(session, kind="member", record_id=str(organizer)) is None:
        raise InvalidInput([("body.organizer", f"no member {organizer} in the directory")])
