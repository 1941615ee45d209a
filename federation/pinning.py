"""A regional node's trust anchor: the hub key it was given out of band. Pure.

Before a node holds any roster it trusts exactly one thing, the pinned hub key. These
functions decide which roster that key vouches for; the node's shell fetches and stores.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from federation.errors import UnknownKey, WireFormatError
from federation.keys import public_key
from federation.signing import verify_envelope
from schemas.record import Envelope
from schemas.roster import RosterBody


def roster_listing(
    rosters: Iterable[tuple[RosterBody, int]], *, hub_key: str
) -> tuple[RosterBody, int] | None:
    """The held roster whose hub lists ``hub_key``. After a hub key rotation the pinned
    (new) key no longer derives the hub's id, so the roster is found by the key instead."""
    for body, version in rosters:
        hub = next((n for n in body.nodes if n.node_id == body.hub), None)
        if hub is not None and any(k.public_key == hub_key for k in hub.keys):
            return body, version
    return None


def accept_hub_roster(raw: Mapping[str, Any], *, hub_key: str) -> tuple[RosterBody, int]:
    """The roster a hub serves at bootstrap, accepted only if it is a roster record signed
    by exactly the pinned key, listed for the hub itself. Returns (body, version); raises
    a ``HealthnetError`` naming what is wrong otherwise."""
    try:
        envelope = Envelope.model_validate(raw)
        body = RosterBody.model_validate(raw["body"])
    except (ValidationError, KeyError, TypeError) as exc:
        raise WireFormatError(f"not a roster envelope: {exc}") from exc
    header = envelope.record
    if header.kind != "roster":
        raise WireFormatError(f"a {header.kind} record, not a roster", field="record.kind")
    hub = next((n for n in body.nodes if n.node_id == body.hub == header.origin), None)
    if hub is None:
        raise WireFormatError("the roster is not the hub's own", field="record.origin")
    signer = next((k for k in hub.keys if k.key_id == header.key_id), None)
    if signer is None or signer.public_key != hub_key:
        raise UnknownKey(
            f"the hub's roster is signed with {header.key_id}, not the pinned key",
            origin=header.origin,
            key_id=header.key_id,
        )
    verify_envelope(raw, public_key(hub_key))
    return body, header.version
