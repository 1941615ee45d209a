"""The trust tests' network: fixed keys (a rotated key, revoked keys, a suspended and a
revoked node, a stranger), its roster and ``Trust``, and really signed test envelopes."""

from __future__ import annotations

from typing import Any

from federation.keys import SigningKey, node_id_for
from federation.trust import Trust
from schemas.event import EventBody
from schemas.geo import Region
from schemas.member import MemberBody
from schemas.roster import KeyStatus, NodeStatus, RosterBody

from .envelopes import sealed
from .rosters import key, rkey, rnode

ISSUED = "2026-01-15T08:30:00Z"
RID = "3f2b8c1e-7d4a-4e6b-9c15-2a8e6f0d4b71"
FAKE_PREV = "sha256:" + "A" * 43

COUNTRY = {
    Region.NORTH_AMERICA: "US",
    Region.EUROPE: "NL",
    Region.AFRICA: "KE",
    Region.ASIA: "JP",
    Region.OCEANIA: "AU",
    Region.SOUTH_AMERICA: "BR",
}


# The keys of the test network. Each node's id derives from its first key.
HUB_K1 = key(1)
EU_K1, EU_K2 = key(2), key(3, "ed25519:2")  # rotated: k1 signed 1..41, k2 signs from 42
AS_K1 = key(4)
AF_K1, AF_K2 = key(5), key(6, "ed25519:2")  # k1 revoked, records up to 10 stay good
OC_K1, OC_K2 = key(7), key(8, "ed25519:2")  # k1 revoked with no good records at all
SA_K1 = key(9)  # node suspended
XX_K1 = key(10)  # node revoked
STRANGER = key(11)  # in no roster

HUB = node_id_for(HUB_K1.public_raw)
EU = node_id_for(EU_K1.public_raw)
AS = node_id_for(AS_K1.public_raw)
AF = node_id_for(AF_K1.public_raw)
OC = node_id_for(OC_K1.public_raw)
SA = node_id_for(SA_K1.public_raw)
XX = node_id_for(XX_K1.public_raw)
NOBODY = node_id_for(STRANGER.public_raw)


def roster() -> RosterBody:
    return RosterBody(
        hub=HUB,
        nodes=[
            rnode(HUB, Region.NORTH_AMERICA, [rkey(HUB_K1)]),
            rnode(
                EU,
                Region.EUROPE,
                [rkey(EU_K1, until_seq=41), rkey(EU_K2, from_seq=42)],
            ),
            rnode(AS, Region.ASIA, [rkey(AS_K1)]),
            rnode(
                AF,
                Region.AFRICA,
                [
                    rkey(AF_K1, until_seq=10, status=KeyStatus.REVOKED),
                    rkey(AF_K2, from_seq=11),
                ],
            ),
            rnode(
                OC,
                Region.OCEANIA,
                [rkey(OC_K1, status=KeyStatus.REVOKED), rkey(OC_K2, from_seq=5)],
            ),
            rnode(SA, Region.SOUTH_AMERICA, [rkey(SA_K1)], status=NodeStatus.SUSPENDED),
            rnode(XX, Region.NORTH_AMERICA, [rkey(XX_K1)], status=NodeStatus.REVOKED),
        ],
    )


TRUST = Trust.from_roster(roster(), 7)

SIGNERS = {
    (HUB, "ed25519:1"): HUB_K1,
    (EU, "ed25519:1"): EU_K1,
    (EU, "ed25519:2"): EU_K2,
    (AS, "ed25519:1"): AS_K1,
    (AF, "ed25519:1"): AF_K1,
    (AF, "ed25519:2"): AF_K2,
    (OC, "ed25519:1"): OC_K1,
    (OC, "ed25519:2"): OC_K2,
    (SA, "ed25519:1"): SA_K1,
    (XX, "ed25519:1"): XX_K1,
}


def member(region: Region) -> dict[str, Any]:
    body = {
        "name": f"Hospital in {region.value}",
        "kind": "hospital",
        "region": region.value,
        "country": COUNTRY[region],
    }
    MemberBody.model_validate(body)  # a body the origin could really publish
    return body


def event(region: Region) -> dict[str, Any]:
    body = {
        "title": f"Conference in {region.value}",
        "kind": "conference",
        "region": region.value,
        "timezone": "UTC",
        "starts_at": "2026-05-01T09:00:00",
        "ends_at": "2026-05-01T17:00:00",
        "venue": {"city": "Somewhere", "country": COUNTRY[region]},
    }
    EventBody.model_validate(body)
    return body


def envelope(
    signer: SigningKey,
    *,
    origin: str,
    seq: int,
    kind: str = "member",
    body: dict[str, Any] | None = None,
    tombstone: bool = False,
) -> dict[str, Any]:
    if body is None and not tombstone:
        body = member(Region.EUROPE)
    prev = None if seq == 1 else FAKE_PREV
    body = None if tombstone else body
    return sealed(signer, origin, seq, prev, body, record_id=RID, kind=kind, issued_at=ISSUED)
