"""The rosters a node holds: ordinary records of kind ``roster`` in a hub's log. Choosing
among them (which hub, which pinned key) is federation.roster's pure logic; this module
only reads them."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlmodel import Session

from node.db.tables import RECORDS
from schemas.roster import RosterBody


def current(session: Session, *, hub: str, record_id: str) -> tuple[RosterBody, int] | None:
    """The hub's current roster and its version, if held with its body."""
    row = session.execute(
        select(RECORDS.c.body, RECORDS.c.version).where(
            RECORDS.c.origin == hub,
            RECORDS.c.record_id == record_id,
            RECORDS.c.current.is_(True),
        )
    ).first()
    if row is None or row[0] is None:
        return None
    return RosterBody.model_validate(json.loads(row[0])), int(row[1])


def every_current(session: Session) -> list[tuple[RosterBody, int]]:
    """Every current roster held, of any hub (a key rotation on the hub changes the id
    its key derives, so a node pinned to the new key finds the roster by key, not id)."""
    rows = session.execute(
        select(RECORDS.c.body, RECORDS.c.version).where(
            RECORDS.c.kind == "roster", RECORDS.c.current.is_(True), RECORDS.c.body.is_not(None)
        )
    ).all()
    return [(RosterBody.model_validate(json.loads(text)), int(v)) for text, v in rows]


def current_version(session: Session, *, hub: str, record_id: str) -> int:
    """The version of the hub's current roster held (0: none). One indexed lookup, cheap
    enough to ask on every request that trusts the roster."""
    version = session.execute(_version_statement(), {"hub": hub, "id": record_id}).scalar()
    return int(version or 0)


@cache
def _version_statement() -> Select[Any]:
    """Built once: every request that trusts the roster asks, and building the select
    cost more than the lookup (as ``log._tip_statement``)."""
    c = RECORDS.c
    return select(c.version).where(
        c.origin == bindparam("hub"),
        c.record_id == bindparam("id"),
        c.current.is_(True),
        c.body.is_not(None),
    )
