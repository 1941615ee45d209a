"""The roster as a node holds it: load the trust table, publish a new roster (hub only).

The roster is an ordinary record (kind ``roster``) in the hub's log, with a fixed record
id per hub, so it syncs, verifies and versions like everything else.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from federation.canonical import b64url_decode
from federation.keys import SigningKey, node_id_for
from federation.pinning import roster_listing
from federation.trust import Trust
from node.db import rosters
from node.db.session import Session
from node.errors import NotTheHub
from node.publisher import Draft, Mode, publish
from node.settings import NodeSettings
from schemas.roster import RosterBody, RosterKey, RosterNode

NAMESPACE = uuid.UUID("0b7f3c1e-4a5d-4f7e-9a0b-6c1d2e3f4a5b")


def roster_id(hub_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{hub_id}/roster"))


def hub_id(settings: NodeSettings) -> str:
    if settings.hub:
        return settings.node_id
    if not settings.hub_key:
        return ""
    return node_id_for(b64url_decode(settings.hub_key, field="hub_key"))


def current(session: Session, *, hub: str) -> tuple[RosterBody, int] | None:
    return rosters.current(session, hub=hub, record_id=roster_id(hub))


def held_version(session: Session, settings: NodeSettings) -> int:
    """The version of the roster this node holds in its database (0: none yet)."""
    hub = hub_id(settings)
    return rosters.current_version(session, hub=hub, record_id=roster_id(hub)) if hub else 0


def load_trust(session: Session, settings: NodeSettings) -> Trust | None:
    """The node's trust table: the newest roster it holds, else the pinned hub key."""
    hub = hub_id(settings)
    if not hub:
        return None  # a standalone node: it publishes, but federates with no one
    held = current(session, hub=hub)
    if held is None and not settings.hub:
        held = roster_listing(rosters.every_current(session), hub_key=settings.hub_key)
    if held is not None:
        return Trust.from_roster(*held)
    if settings.hub:
        return None
    return Trust.pinned(settings.hub_key, hub_url=settings.hub_url or "http://hub.invalid")


def self_entry(settings: NodeSettings, key: SigningKey, *, from_seq: int = 1) -> RosterNode:
    return RosterNode(
        node_id=settings.node_id,
        name=settings.name,
        leader=settings.leader or settings.name,
        region=settings.region,
        url=settings.url,
        keys=[
            RosterKey(
                key_id=key.key_id,
                public_key=key.public_b64,
                from_seq=max(from_seq, settings.key_from_seq),
            )
        ],
        latitude=settings.latitude,
        longitude=settings.longitude,
        placeholder=settings.placeholder,
    )


def publish_roster(
    session: Session, *, settings: NodeSettings, key: SigningKey, body: RosterBody, now: datetime
) -> int:
    """Sign and store a new roster version (hub only). Returns the version."""
    if not settings.hub:
        raise NotTheHub("only the hub publishes the roster")
    draft = Draft(
        "roster",
        roster_id(settings.node_id),
        Mode.UPSERT,
        body.model_dump(mode="json", exclude_none=True),
    )
    (outcome,) = publish(session, key=key, origin=settings.node_id, drafts=[draft], now=now)
    if outcome.envelope is None:
        held = current(session, hub=settings.node_id)
        return held[1] if held else 0
    return int(outcome.envelope["record"]["version"])


def ensure_roster(
    session: Session, *, settings: NodeSettings, key: SigningKey, now: datetime
) -> None:
    """A hub without a roster publishes the first one: itself alone."""
    if not settings.hub or current(session, hub=settings.node_id) is not None:
        return
    body = RosterBody(hub=settings.node_id, nodes=[self_entry(settings, key)])
    publish_roster(session, settings=settings, key=key, body=body, now=now)
