"""Editing the roster: pure functions from one roster body to the next.

The hub's operator commands (add a node, suspend, revoke, restore, rotate a key) are these
functions plus a signature. Each returns a new body and leaves its input untouched.
"""

from __future__ import annotations

from pydantic import ValidationError

from federation.errors import (
    AlreadyListed,
    HubStaysActive,
    InvalidRoster,
    KeyOrderError,
    NotInRoster,
)
from schemas.roster import KeyStatus, NodeStatus, RosterBody, RosterKey, RosterNode


def with_node(roster: RosterBody, node: RosterNode) -> RosterBody:
    """Add a node, or replace the entry of the same id.

    The result is validated again (``model_copy`` alone would not), so no edit can produce
    a roster that the hub would sign and every peer would then refuse as malformed.
    """
    nodes = [n for n in roster.nodes if n.node_id != node.node_id] + [node]
    data = roster.model_copy(update={"nodes": nodes}).model_dump(mode="json")
    try:
        return RosterBody.model_validate(data)
    except ValidationError as exc:
        raise InvalidRoster(
            f"the edited roster would be invalid: {exc.errors()[0]['msg']}"
        ) from exc


def with_status(roster: RosterBody, node_id: str, status: NodeStatus) -> RosterBody:
    if node_id == roster.hub and status is not NodeStatus.ACTIVE:
        raise HubStaysActive("the hub cannot suspend or revoke itself")
    return with_node(roster, _node(roster, node_id).model_copy(update={"status": status}))


def with_rotated_key(roster: RosterBody, node_id: str, key: RosterKey) -> RosterBody:
    """Close the current key(s) at ``key.from_seq - 1`` and list ``key`` from there.

    Records the old key signed before the rotation stay valid; it cannot sign later ones.
    """
    node = _node(roster, node_id)
    if any(k.key_id == key.key_id for k in node.keys):
        raise AlreadyListed(f"{node_id} already lists {key.key_id}")
    if any(k.from_seq >= key.from_seq for k in node.keys):
        raise KeyOrderError("a new key must start after every key already listed")
    closed = [_close(k, key.from_seq - 1) for k in node.keys]
    return with_node(roster, node.model_copy(update={"keys": [*closed, key]}))


def _close(key: RosterKey, last: int) -> RosterKey:
    """Narrow a key's window to end at ``last`` at the latest. Never widens one: a revoked
    key with no ``until_seq`` is valid for nothing and stays so."""
    if key.status is KeyStatus.REVOKED and key.until_seq is None:
        return key
    if key.until_seq is not None and key.until_seq <= last:
        return key
    return key.model_copy(update={"until_seq": last})


def with_revoked_key(
    roster: RosterBody, node_id: str, key_id: str, *, last_good_seq: int | None
) -> RosterBody:
    """Revoke a key: records it signed up to ``last_good_seq`` stay valid (None: none do)."""
    node = _node(roster, node_id)
    if not any(k.key_id == key_id for k in node.keys):
        raise NotInRoster(f"{node_id} has no key {key_id}")

    def revoked(k: RosterKey) -> RosterKey:
        # Never widen: the window ends at the earlier of its current end and last_good_seq.
        until = last_good_seq
        if until is not None and k.until_seq is not None:
            until = min(until, k.until_seq)
        return k.model_copy(update={"status": KeyStatus.REVOKED, "until_seq": until})

    keys = [revoked(k) if k.key_id == key_id else k for k in node.keys]
    return with_node(roster, node.model_copy(update={"keys": keys}))


def _node(roster: RosterBody, node_id: str) -> RosterNode:
    for node in roster.nodes:
        if node.node_id == node_id:
            return node
    raise NotInRoster(f"{node_id} is not in the roster")
