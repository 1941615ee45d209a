"""federation.trust: which records each origin may publish, by the roster's region and by
kind (which key may sign: test_trust). Pure: no DB, no HTTP.

Every envelope here is really signed (``federation.signing.seal`` with keys from fixed
seeds) and verified with ``verify_envelope`` against the key that ``Trust`` hands out, so a
test shows both what Trust refuses and that what it accepts actually verifies. The test
network is in tests/support/trust_network.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.rosters import key, receive, rkey, rnode
from support.trust_network import (
    AF,
    AS,
    EU,
    EU_K1,
    HUB,
    HUB_K1,
    NOBODY,
    OC,
    SA,
    SIGNERS,
    STRANGER,
    TRUST,
    XX,
    envelope,
    event,
    member,
    roster,
)

from federation.errors import OutOfScope, UnknownKey
from federation.keys import SigningKey, node_id_for
from federation.signing import verify_envelope
from federation.trust import Trust
from schemas.geo import Region
from schemas.roster import RosterBody

# --------------------------------------------------------------------------- check_scope


def _scope_node(region: Region) -> tuple[str, SigningKey]:
    signer = key(100 + list(Region).index(region))
    return node_id_for(signer.public_raw), signer


SCOPE_NODES = {r: _scope_node(r) for r in Region}
HUB_REGION = Region.NORTH_AMERICA
SCOPE_TRUST = Trust.from_roster(
    RosterBody(
        hub=SCOPE_NODES[HUB_REGION][0],
        nodes=[rnode(nid, r, [rkey(k)]) for r, (nid, k) in SCOPE_NODES.items()],
    ),
    3,
)
PAIRS = [(a, b) for a in Region for b in Region]


@pytest.mark.parametrize("make", [member, event], ids=["member", "event"])
@pytest.mark.parametrize(("node_region", "body_region"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_scope_matrix(make: Any, node_region: Region, body_region: Region) -> None:
    origin, signer = SCOPE_NODES[node_region]
    kind = make.__name__
    env = envelope(signer, origin=origin, seq=2, kind=kind, body=make(body_region))
    if node_region is body_region:
        receive(SCOPE_TRUST, env)
    else:
        with pytest.raises(OutOfScope) as info:
            receive(SCOPE_TRUST, env)
        assert info.value.origin == origin
        assert body_region.value in str(info.value)


def test_europe_node_cannot_publish_an_asian_member() -> None:
    env = envelope(EU_K1, origin=EU, seq=2, body=member(Region.ASIA))
    verify_envelope(env, TRUST.key_for(origin=EU, key_id="ed25519:1", seq=2))  # signed fine
    with pytest.raises(OutOfScope):
        TRUST.check_scope(env["record"], env["body"])


@pytest.mark.parametrize("kind", ["member", "event"])
@pytest.mark.parametrize("region", list(Region))
def test_tombstones_pass_scope(kind: str, region: Region) -> None:
    origin, signer = SCOPE_NODES[region]
    env = envelope(signer, origin=origin, seq=4, kind=kind, tombstone=True)
    assert env["body"] is None and env["record"]["deleted"] is True
    receive(SCOPE_TRUST, env)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "kind": "hospital", "country": "NL"},  # no region at all
        {**member(Region.EUROPE), "region": None},
        {**member(Region.EUROPE), "region": "Europe"},  # not the enum value
        {**member(Region.EUROPE), "region": "eu"},
    ],
)
def test_scope_needs_the_exact_region_value(body: dict[str, Any]) -> None:
    header = envelope(EU_K1, origin=EU, seq=2, body=body)["record"]
    with pytest.raises(OutOfScope):
        TRUST.check_scope(header, body)


@pytest.mark.parametrize(
    ("origin", "ok"),
    [(HUB, True), (EU, False), (AS, False), (AF, False), (OC, False), (SA, False), (XX, False)],
)
@pytest.mark.parametrize("tombstone", [False, True])
def test_only_the_hub_publishes_the_roster(origin: str, ok: bool, tombstone: bool) -> None:
    env = envelope(
        SIGNERS[(origin, "ed25519:1")],
        origin=origin,
        seq=1,
        kind="roster",
        body={"hub": origin, "region": TRUST.node(origin).region.value},
        tombstone=tombstone,
    )
    if ok:
        TRUST.check_scope(env["record"], env["body"])
    else:
        with pytest.raises(OutOfScope) as info:
            TRUST.check_scope(env["record"], env["body"])
        assert "hub" in str(info.value)


def test_hub_roster_scope_ignores_the_body_region() -> None:
    """A roster is not regional: the hub (North America) may list nodes of every region."""
    body = roster().model_dump(mode="json", exclude_none=True)
    env = envelope(HUB_K1, origin=HUB, seq=1, kind="roster", body=body)
    receive(TRUST, env)


def test_hub_is_regional_for_members() -> None:
    ok = envelope(HUB_K1, origin=HUB, seq=2, body=member(Region.NORTH_AMERICA))
    receive(TRUST, ok)
    bad = envelope(HUB_K1, origin=HUB, seq=3, body=member(Region.EUROPE))
    with pytest.raises(OutOfScope):
        receive(TRUST, bad)


def test_scope_of_an_unknown_origin_is_unknown_key() -> None:
    env = envelope(STRANGER, origin=NOBODY, seq=1)
    with pytest.raises(UnknownKey):
        TRUST.check_scope(env["record"], env["body"])


def test_scope_follows_the_roster_region_not_the_key() -> None:
    """Moving a node to another region (a new roster) moves its scope with it."""
    body = roster()
    moved = body.model_copy(
        update={
            "nodes": [
                n.model_copy(update={"region": Region.ASIA}) if n.node_id == EU else n
                for n in body.nodes
            ]
        }
    )
    trust = Trust.from_roster(moved, 8)
    asian = envelope(EU_K1, origin=EU, seq=2, body=member(Region.ASIA))
    receive(trust, asian)
    with pytest.raises(OutOfScope):
        receive(TRUST, asian)
