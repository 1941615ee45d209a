"""Operator actions on a node home, shared by the CLI and the tests: roster edits on the
hub, key rotation, joining a hub, and resyncing an origin from scratch."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import tomli_w
from pydantic import ValidationError

from federation import keys
from federation.errors import AlreadyListed, IdentityMismatch
from federation.keys import SigningKey
from federation.roster import with_node, with_rotated_key, with_status
from node import roster
from node.db import origins, store
from node.db.session import Engine, Session, writer
from node.errors import ConfigError, InvalidInput, NoRoster, NotTheHub
from node.home import load_key, write_key
from node.settings import CONFIG_NAME, NodeSettings, describe
from schemas.roster import NodeStatus, RosterBody, RosterKey, RosterNode


def update_config(settings: NodeSettings, **changes: Any) -> None:
    path = settings.home / CONFIG_NAME
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    data.update({k: v for k, v in changes.items() if v is not None})
    try:
        NodeSettings.model_validate({"home": settings.home, **data})  # refuse a bad edit
    except ValidationError as exc:
        names = {k: "--" + k.replace("_", "-") for k in changes}
        raise ConfigError(describe(exc, names)) from exc
    path.write_text(tomli_w.dumps(data), encoding="utf-8")


def _edit_roster(
    engine: Engine,
    settings: NodeSettings,
    now: datetime,
    edit: Any,
    *,
    key: SigningKey | None = None,
    also: Callable[[Session, int], None] | None = None,
) -> int:
    """Sign and store ``edit`` applied to the current roster; returns the new version.

    ``also`` runs in the same transaction, after the roster is published and before the
    commit, with the session and the new version: what must change together with the
    roster (a join request marked approved) cannot end up changed without it.
    """
    if not settings.hub:
        raise NotTheHub("roster changes are made on the hub's node home")
    key = key or load_key(settings)
    with Session(writer(engine)) as session:
        # Serialise roster edits: two operators editing at once must not both build on the
        # same version.
        origins.lock(session, origin=settings.node_id)
        held = roster.current(session, hub=settings.node_id)
        if held is None:
            raise NoRoster("the hub holds no roster yet; start it once")
        body: RosterBody = edit(held[0])
        version = roster.publish_roster(session, settings=settings, key=key, body=body, now=now)
        if also is not None:
            also(session, version)
        session.commit()
    return version


def roster_entry(info: Mapping[str, Any]) -> RosterNode:
    """The roster entry of a node, from what it presents of itself: its ``GET /node``
    answer (``healthnet roster add``) or its verified join request (``node.joins``). One
    function, so that a node is listed alike whichever way it came in."""
    return RosterNode(
        node_id=info["node_id"],
        name=info["name"],
        leader=info.get("leader") or info["name"],
        region=info["region"],
        url=info["url"],
        keys=[
            RosterKey(
                key_id=info["key_id"],
                public_key=info["public_key"],
                from_seq=int(info.get("key_from_seq", 1)),
            )
        ],
        latitude=info.get("latitude"),
        longitude=info.get("longitude"),
        placeholder=bool(info.get("placeholder", False)),
    )


def add_node(
    engine: Engine,
    settings: NodeSettings,
    node: RosterNode,
    *,
    now: datetime,
    key: SigningKey | None = None,
    also: Callable[[Session, int], None] | None = None,
) -> int:
    """List a node that is not in the roster yet (``AlreadyListed`` if it is)."""

    def edit(body: RosterBody) -> RosterBody:
        if any(n.node_id == node.node_id for n in body.nodes):
            raise AlreadyListed(f"{node.node_id} is already in the roster")
        return with_node(body, node)

    return _edit_roster(engine, settings, now, edit, key=key, also=also)


def admit(
    engine: Engine,
    settings: NodeSettings,
    info: dict[str, Any],
    *,
    expected_key: str,
    now: datetime,
) -> int:
    """Add the node described by its ``GET /node`` answer, if it presents the expected key."""
    if info.get("public_key") != expected_key:
        raise IdentityMismatch(
            "the node presents a different key than the one given out of band: refusing"
        )
    first_key = int(info.get("key_from_seq", 1)) == 1
    derived = keys.node_id_for(keys.public_key(expected_key).public_bytes_raw())
    if first_key and derived != info.get("node_id"):
        raise IdentityMismatch("the node id does not derive from the key it presents")
    return add_node(engine, settings, roster_entry(info), now=now)


def set_status(
    engine: Engine, settings: NodeSettings, node_id: str, status: NodeStatus, *, now: datetime
) -> int:
    return _edit_roster(engine, settings, now, lambda body: with_status(body, node_id, status))


def rotate_listed_key(
    engine: Engine,
    settings: NodeSettings,
    node_id: str,
    info: dict[str, Any],
    *,
    expected_key: str,
    now: datetime,
) -> int:
    """Hub side of a regional key rotation: list the node's new key from its first seq."""
    if info.get("public_key") != expected_key or info.get("node_id") != node_id:
        raise IdentityMismatch("the node presents a different key than the one given: refusing")
    new = RosterKey(
        key_id=info["key_id"], public_key=expected_key, from_seq=int(info["key_from_seq"])
    )
    return _edit_roster(engine, settings, now, lambda body: with_rotated_key(body, node_id, new))


def rotate_own_key(
    engine: Engine, settings: NodeSettings, *, now: datetime
) -> tuple[str, str, int]:
    """Make the next key and switch this home to it. Returns (key id, public key, from seq).

    On the hub the new roster is signed with the *old* key (receivers only trust keys the
    previous roster lists), so the new key starts one seq later.
    """
    number = int(settings.key_id.split(":")[1]) + 1
    new_key = keys.generate(f"ed25519:{number}")
    with Session(engine) as session:
        next_seq = store.last_seq(session, origin=settings.node_id) + 1
    if settings.hub:
        from_seq = next_seq + 1
        entry = RosterKey(key_id=new_key.key_id, public_key=new_key.public_b64, from_seq=from_seq)
        _edit_roster(
            engine, settings, now, lambda body: with_rotated_key(body, settings.node_id, entry)
        )
    else:
        from_seq = next_seq
    write_key(settings.home, new_key)
    update_config(settings, key_id=new_key.key_id, key_from_seq=from_seq)
    return new_key.key_id, new_key.public_b64, from_seq


def resync_origin(engine: Engine, settings: NodeSettings, origin: str) -> int:
    """Forget everything held of ``origin`` so the next pull fetches it from scratch."""
    if origin == settings.node_id:
        raise InvalidInput([("origin", "a node does not resync its own records")])
    with Session(writer(engine)) as session:
        gone = origins.forget(session, origin=origin)
        session.commit()
    return gone
