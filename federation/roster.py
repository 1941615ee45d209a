"""Editing the roster: pure functions from one roster body to the next.

The hub's operator commands (add a node, suspend, revoke, restore, rotate a key) are these
functions plus a signature. Each returns a new body and leaves its input untouched.
"""

from __future__ import annotations

from federation.errors import HealthnetError
from schemas.roster import KeyStatus, NodeStatus, RosterBody, RosterKey, RosterNode


def with_node(roster: RosterBody, node: RosterNode) -> RosterBody:
    """Add a node, or replace the entry of the same id (its keys must stay consistent)."""
    nodes = [n for n in roster.nodes if n.node_id != node.node_id] + [node]
    return roster.model_copy(update={"nodes": nodes})


def with_status(roster: RosterBody, node_id: str, status: NodeStatus) -> RosterBody:
    if node_id == roster.hub and status is not NodeStatus.ACTIVE:
        raise HealthnetError("the hub cannot suspend or revoke itself")
    return with_node(roster, _node(roster, node_id).model_copy(update={"status": status}))


def with_rotated_key(roster: RosterBody, node_id: str, key: RosterKey) -> RosterBody:
    """Close the current key(s) at ``key.from_seq - 1`` and list ``key`` from there.

    Records the old key signed before the rotation stay valid; it cannot sign later ones.
    """
    node = _node(roster, node_id)
    if any(k.key_id == key.key_id for k in node.keys):
        raise HealthnetError(f"{node_id} already lists {key.key_id}")
    closed = [
        k.model_copy(update={"until_seq": key.from_seq - 1})
        if k.until_seq is None or k.until_seq >= key.from_seq
        else k
        for k in node.keys
    ]
    return with_node(roster, node.model_copy(update={"keys": [*closed, key]}))


def with_revoked_key(
    roster: RosterBody, node_id: str, key_id: str, *, last_good_seq: int | None
) -> RosterBody:
    """Revoke a key: records it signed up to ``last_good_seq`` stay valid (None: none do)."""
    node = _node(roster, node_id)
    if not any(k.key_id == key_id for k in node.keys):
        raise HealthnetError(f"{node_id} has no key {key_id}")
    keys = [
        k.model_copy(update={"status": KeyStatus.REVOKED, "until_seq": last_good_seq})
        if k.key_id == key_id
        else k
        for k in node.keys
    ]
    return with_node(roster, node.model_copy(update={"keys": keys}))


def _node(roster: RosterBody, node_id: str) -> RosterNode:
    for node in roster.nodes:
        if node.node_id == node_id:
            return node
    raise HealthnetError(f"{node_id} is not in the roster")
