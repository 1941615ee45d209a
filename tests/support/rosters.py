"""Roster fixtures for the trust tests: seeded keys, roster entries, and what a receiver
does with one envelope."""

from __future__ import annotations

from typing import Any

from federation.keys import SigningKey, from_seed
from federation.signing import verify_envelope
from federation.trust import Trust
from schemas.geo import Region
from schemas.roster import RosterKey, RosterNode


def key(n: int, key_id: str = "ed25519:1") -> SigningKey:
    """A deterministic key: the seed is the byte ``n`` 32 times."""
    return from_seed(bytes([n]) * 32, key_id)


def rkey(k: SigningKey, **kw: Any) -> RosterKey:
    return RosterKey(key_id=k.key_id, public_key=k.public_b64, **kw)


def rnode(node_id: str, region: Region, keys: list[RosterKey], **kw: Any) -> RosterNode:
    return RosterNode(
        node_id=node_id,
        name=kw.pop("name", f"node {node_id[-4:]}"),
        leader="leader",
        region=region,
        url=f"http://{node_id}.test",
        keys=keys,
        **kw,
    )


def receive(trust: Trust, env: dict[str, Any]) -> None:
    """What a receiver does with one envelope, in the documented order."""
    header = env["record"]
    public = trust.key_for(origin=header["origin"], key_id=header["key_id"], seq=header["seq"])
    verify_envelope(env, public)
    trust.check_scope(header, env["body"])
