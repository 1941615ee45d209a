"""tests/vectors/key_windows.json: ``federation.trust`` (docs/PROTOCOL.md 10.1).

Key validity is measured in the origin's sequence numbers, not in time, so the boundaries
are seqs: each window is probed just before, at and just after its ends. The roster is
built with the hub's own edit functions (federation.roster), so the windows are the ones a
rotation and a revocation really produce. Part of make_protocol_vectors.py.
"""

from __future__ import annotations

from typing import Any

from make_vectors import OTHER_SEED_HEX, SEED_HEX

from federation.canonical import b64url
from federation.errors import SignatureError
from federation.keys import from_seed, node_id_for
from federation.roster import with_revoked_key, with_rotated_key, with_status
from federation.trust import Trust, key_valid
from schemas.geo import Region
from schemas.record import MAX_SAFE_INTEGER as MAX_SEQ
from schemas.roster import NodeStatus, RosterBody, RosterKey, RosterNode


def build() -> dict[str, Any]:
    """A roster built with the hub's own edit functions, and what trust answers from it."""
    seeds: dict[str, tuple[str, str]] = {  # label: (seed hex, key id)
        "hub_1": (SEED_HEX, "ed25519:1"),  # the record vectors' key
        "hub_2": (OTHER_SEED_HEX, "ed25519:2"),  # the record vectors' other_key
        **{label: (bytes([n]).hex() * 32, key_id) for label, n, key_id in (
            ("rotated_1", 3, "ed25519:1"), ("rotated_2", 4, "ed25519:2"),
            ("retired_1", 5, "ed25519:1"), ("suspended_1", 6, "ed25519:1"),
            ("revoked_1", 7, "ed25519:1"), ("unlisted_1", 8, "ed25519:1"))},
    }
    keys = {label: from_seed(bytes.fromhex(seed), key_id)
            for label, (seed, key_id) in seeds.items()}
    # A node id derives from the node's first key.
    ids = {label[:-2]: node_id_for(k.public_raw)
           for label, k in keys.items() if label.endswith("_1")}

    def node(label: str, region: Region) -> RosterNode:
        k = keys[f"{label}_1"]
        return RosterNode(node_id=ids[label], name=f"{label} node", leader=f"{label} operator",
                          region=region, url=f"https://{label}.example.org",
                          keys=[RosterKey(key_id=k.key_id, public_key=k.public_b64)])

    def new_key(label: str, from_seq: int) -> RosterKey:
        return RosterKey(key_id=keys[label].key_id, public_key=keys[label].public_b64,
                         from_seq=from_seq)

    roster = RosterBody(hub=ids["hub"], nodes=[
        node("hub", Region.EUROPE), node("rotated", Region.NORTH_AMERICA),
        node("retired", Region.AFRICA), node("suspended", Region.ASIA),
        node("revoked", Region.OCEANIA),
    ])
    roster = with_rotated_key(roster, ids["hub"], new_key("hub_2", 42))
    roster = with_rotated_key(roster, ids["rotated"], new_key("rotated_2", 11))
    roster = with_revoked_key(roster, ids["rotated"], "ed25519:1", last_good_seq=7)
    roster = with_revoked_key(roster, ids["retired"], "ed25519:1", last_good_seq=None)
    roster = with_status(roster, ids["suspended"], NodeStatus.SUSPENDED)
    roster = with_status(roster, ids["revoked"], NodeStatus.REVOKED)
    trust = Trust.from_roster(roster, 1)

    def ok(label: str) -> dict[str, str]:
        return {"public_key": keys[label].public_b64}

    def err(name: str) -> dict[str, str]:
        return {"error": name}

    hub, rotated = ids["hub"], ids["rotated"]
    # (name, origin, key id, seq, expected, why)
    lookups: list[tuple[str, str, str, int, dict[str, str], str]] = [
        ("hub_key_1_first_seq", hub, "ed25519:1", 1, ok("hub_1"), "from_seq 1: inside"),
        ("hub_key_1_last_seq", hub, "ed25519:1", 41, ok("hub_1"),
         "until_seq 41 is inclusive: the last record of the old key"),
        ("hub_key_1_after_rotation", hub, "ed25519:1", 42, err("RevokedKey"),
         "seq 42 is after the rotation: the old key cannot sign it"),
        ("hub_key_2_before_rotation", hub, "ed25519:2", 41, err("RevokedKey"),
         "the new key is valid from 42 only: it cannot sign the past either"),
        ("hub_key_2_from_seq", hub, "ed25519:2", 42, ok("hub_2"), "from_seq 42 is inclusive"),
        ("hub_key_2_largest_seq", hub, "ed25519:2", MAX_SEQ, ok("hub_2"),
         "an active key with until_seq null has no upper bound"),
        ("hub_unknown_key_id", hub, "ed25519:3", 42, err("UnknownKey"),
         "no key ed25519:3 is listed for the hub"),
        ("revoked_key_last_good_seq", rotated, "ed25519:1", 7, ok("rotated_1"),
         "revoked with last good seq 7: records up to 7 stay valid"),
        ("revoked_key_after_last_good_seq", rotated, "ed25519:1", 8, err("RevokedKey"),
         "seq 8 is after the last good seq"),
        ("revoked_key_inside_old_rotation_window", rotated, "ed25519:1", 10, err("RevokedKey"),
         "the rotation had closed the key at 10; the revocation narrowed it to 7"),
        ("revoked_key_after_rotation", rotated, "ed25519:1", 11, err("RevokedKey"),
         "seq 11 belongs to the new key"),
        ("new_key_before_from_seq", rotated, "ed25519:2", 10, err("RevokedKey"),
         "seq 8 to 10 are valid under no key of this node"),
        ("new_key_from_seq", rotated, "ed25519:2", 11, ok("rotated_2"), "from_seq 11"),
        ("key_revoked_for_nothing", ids["retired"], "ed25519:1", 1, err("RevokedKey"),
         "revoked with until_seq null: valid for no seq at all"),
        ("key_of_another_node", ids["retired"], "ed25519:2", 42, err("UnknownKey"),
         "ed25519:2 is listed for the hub, not for this origin: a key is never valid for "
         "another node"),
        ("suspended_node", ids["suspended"], "ed25519:1", 1, err("OutOfScope"),
         "the node is suspended: refused before its key is looked at"),
        ("suspended_node_unknown_key", ids["suspended"], "ed25519:9", 1, err("OutOfScope"),
         "status is checked before the key id"),
        ("revoked_node", ids["revoked"], "ed25519:1", 1, err("OutOfScope"),
         "the node is revoked"),
        ("origin_not_in_roster", ids["unlisted"], "ed25519:1", 1, err("UnknownKey"),
         "the origin is not in the roster"),
    ]
    pinned = Trust.pinned(keys["hub_1"].public_b64)
    pinned_lookups: list[tuple[str, str, str, int, dict[str, str], str]] = [
        ("pinned_hub_key_1", hub, "ed25519:1", 1, ok("hub_1"), "the hub key given out of band"),
        ("pinned_hub_key_1_any_seq", hub, "ed25519:1", MAX_SEQ, ok("hub_1"),
         "before a roster is held, the pinned key has no window"),
        ("pinned_hub_key_2", hub, "ed25519:2", 42, err("UnknownKey"),
         "only ed25519:1 is pinned; a rotated key becomes known through a roster"),
        ("pinned_other_origin", rotated, "ed25519:1", 1, err("UnknownKey"),
         "before a roster is held, only the hub is known"),
    ]

    def lookup_cases(table: Trust, specs: list[tuple[str, str, str, int, dict[str, str], str]]
                     ) -> list[dict[str, Any]]:
        out = []
        for name, origin, key_id, seq, expect, why in specs:
            try:
                public = table.key_for(origin=origin, key_id=key_id, seq=seq)
                got = {"public_key": b64url(public.public_bytes_raw())}
            except SignatureError as exc:
                got = {"error": type(exc).__name__}
            if got != expect:
                raise SystemExit(f"{name}: trust says {got}, want {expect}")
            out.append({"name": name, "origin": origin, "key_id": key_id, "seq": seq,
                        "expect": expect, "why": why})
        return out

    base = {"key_id": "ed25519:1", "public_key": keys["hub_1"].public_b64}
    window_specs: list[tuple[str, dict[str, Any], list[tuple[int, bool]], str]] = [
        ("open", {}, [(1, True), (MAX_SEQ, True)], "from_seq 1, until_seq null, active"),
        ("starts_later", {"from_seq": 42}, [(41, False), (42, True)], "from_seq is inclusive"),
        ("closed_active", {"until_seq": 41}, [(41, True), (42, False)],
         "closed by a rotation, still active: until_seq is inclusive"),
        ("closed_revoked", {"until_seq": 7, "status": "revoked"}, [(7, True), (8, False)],
         "revoked with a last good seq: valid up to it"),
        ("revoked_for_nothing", {"status": "revoked"}, [(1, False), (MAX_SEQ, False)],
         "revoked, until_seq null: valid for nothing"),
        ("revoked_before_use", {"from_seq": 11, "status": "revoked"}, [(10, False), (11, False)],
         "a later key revoked before it signed anything"),
        ("single_seq", {"from_seq": 5, "until_seq": 5}, [(4, False), (5, True), (6, False)],
         "a window of one seq"),
        ("empty_window", {"from_seq": 5, "until_seq": 4}, [(4, False), (5, False)],
         "until_seq = from_seq - 1, the least the roster allows: valid for nothing"),
    ]
    windows = []
    for name, fields, points, why in window_specs:
        entry = RosterKey.model_validate({**base, **fields}).model_dump(mode="json")
        for seq, valid in points:
            if key_valid(RosterKey.model_validate(entry), seq) is not valid:
                raise SystemExit(f"{name} at {seq}: key_valid is not {valid}")
            windows.append({"name": f"{name}_at_{seq}", "key": entry, "seq": seq,
                            "valid": valid, "why": why})
    return {
        "keys": [{"label": label, "node_id": ids[label.rsplit("_", 1)[0]],
                  "key_id": key_id, "seed_hex": seed, "public_key": keys[label].public_b64}
                 for label, (seed, key_id) in seeds.items()],
        "roster": roster.model_dump(mode="json"),
        "lookups": lookup_cases(trust, lookups),
        "pinned": {"hub_key": keys["hub_1"].public_b64,
                   "lookups": lookup_cases(pinned, pinned_lookups)},
        "windows": windows,
    }
