"""Trust: which key may sign which record, according to the roster. Pure.

Checks run in this order, each raising before the signature is even looked at: the origin
is in the roster; the origin is active; the key id is listed for *that* origin (a key is
never valid for another node, however it is presented); the record's sequence number lies
inside the key's validity window; the record lies in the origin's scope (its region; only
the hub may publish the roster).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from federation.canonical import b64url_decode
from federation.errors import OutOfScope, RevokedKey, UnknownKey, WireFormatError
from federation.keys import node_id_for, public_key
from schemas.geo import Region
from schemas.roster import KeyStatus, NodeStatus, RosterBody, RosterKey, RosterNode


@dataclass(frozen=True)
class Trust:
    """A roster as a lookup table. ``version`` is the roster record's version (0: pinned)."""

    hub: str
    nodes: Mapping[str, RosterNode]
    version: int

    @classmethod
    def from_roster(cls, body: RosterBody, version: int) -> Trust:
        return cls(body.hub, {n.node_id: n for n in body.nodes}, version)

    @classmethod
    def pinned(cls, hub_key: str, *, hub_url: str = "http://hub.invalid") -> Trust:
        """Before any roster is known: only the hub, with the key given out of band."""
        hub_id = node_id_for(b64url_decode(hub_key, field="hub_key"))
        node = RosterNode(
            node_id=hub_id,
            name="hub",
            leader="hub",
            region=Region.NORTH_AMERICA,
            url=hub_url,
            keys=[RosterKey(key_id="ed25519:1", public_key=hub_key)],
        )
        return cls(hub_id, {hub_id: node}, 0)

    def node(self, origin: str) -> RosterNode:
        node = self.nodes.get(origin)
        if node is None:
            raise UnknownKey("origin is not in the roster", origin=origin)
        return node

    def key_for(self, *, origin: str, key_id: str, seq: int) -> Ed25519PublicKey:
        node = self.node(origin)
        if node.status is not NodeStatus.ACTIVE:
            raise OutOfScope(f"node is {node.status.value}", origin=origin, key_id=key_id)
        key = next((k for k in node.keys if k.key_id == key_id), None)
        if key is None:
            raise UnknownKey("key id not listed for this origin", origin=origin, key_id=key_id)
        if not key_valid(key, seq):
            raise RevokedKey(f"key not valid for seq {seq}", origin=origin, key_id=key_id)
        return public_key(key.public_key)

    def check_scope(self, header: Mapping[str, Any], body: Mapping[str, Any] | None) -> None:
        origin, kind = str(header["origin"]), header["kind"]
        node = self.node(origin)
        if kind == "roster":
            if origin != self.hub:
                raise OutOfScope("only the hub publishes the roster", origin=origin)
            return
        if body is not None and body.get("region") != node.region.value:
            raise OutOfScope(
                f"a {node.region.value} node cannot publish a {body.get('region')} {kind}",
                origin=origin,
            )


def key_valid(key: RosterKey, seq: int) -> bool:
    """Validity by sequence number: records signed before a rotation or revocation stay
    valid; anything after ``until_seq`` is refused."""
    if seq < key.from_seq:
        return False
    if key.until_seq is not None:
        return seq <= key.until_seq
    return key.status is KeyStatus.ACTIVE


def listed_key(trust: Trust, origin: str, key_id: str, seq: int) -> Ed25519PublicKey | None:
    """The key ``origin`` listed as ``key_id`` for ``seq``, whatever the origin's status
    now: evidence against a suspended or revoked origin must still check, since an
    operator suspends an origin because of it (federation.evidence). None if no such key
    was valid for that seq."""
    node = trust.nodes.get(origin)
    key = next((k for k in node.keys if k.key_id == key_id), None) if node else None
    if key is None or not key_valid(key, seq):
        return None
    try:
        return public_key(key.public_key)
    except WireFormatError:
        return None
