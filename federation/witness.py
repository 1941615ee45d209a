"""Witnessed checkpoints of each origin's log: signed, co-signed and compared. Pure.

The idea is C2SP's tlog-checkpoint and tlog-cosignature, applied to the hash chain of one
origin. A **checkpoint** names a state of an origin's log: its ``size`` (the last seq) and
its ``head`` (the header hash of the record at that seq, which commits to every record
before it through ``prev``). A **cosignature** is one node's signed statement "I hold
this origin's log at this size with this head", with the time it said so. Every node
co-signs the state it holds of every origin, and co-signs its peers' checkpoints when it
holds the same head at that size. A record covered by a checkpoint that N nodes co-signed
was in the log those N nodes saw: an origin that showed another history to anyone would
have to make at least one of them sign a conflicting statement, and two conflicting
statements of one origin at one size are a split view caught (docs/PROTOCOL.md 10.8).

A cosignature's message is domain-separated like a join request's: the ASCII line
``healthnet.cosignature.v1`` then the canonical statement, so it can never be presented
as a record's or a join request's signature, nor they as it.

No clock and no I/O: times are passed in; keys come in as a lookup.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from federation.canonical import b64url, b64url_decode, canonical_bytes
from federation.errors import BadEvidence, HealthnetError
from federation.keys import SigningKey, public_key
from federation.signing import verify_bytes
from federation.trust import Trust
from schemas.record import MAX_SAFE_INTEGER
from schemas.roster import KeyStatus, NodeStatus

COSIGNATURE_TYPE = "healthnet.cosignature.v1"
SIGNING_PREFIX = b"healthnet.cosignature.v1\n"
STATEMENT_MEMBERS = frozenset({"type", "checkpoint", "witness", "key_id", "time", "sig"})
CHECKPOINT_MEMBERS = frozenset({"origin", "size", "head"})

_NODE_ID = re.compile(r"^hn-[a-z2-7]{24}$")
_HEAD = re.compile(r"^sha256:[A-Za-z0-9_-]{43}$")
_KEY_ID = re.compile(r"^ed25519:[1-9][0-9]{0,8}$")
_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")
_SIG = re.compile(r"^[A-Za-z0-9_-]{86}$")

# (witness node id, key id) -> that witness's key, or None when it may not co-sign.
WitnessKeys = Callable[[str, str], Ed25519PublicKey | None]


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    head: str

    def body(self) -> dict[str, Any]:
        return {"origin": self.origin, "size": self.size, "head": self.head}


@dataclass(frozen=True)
class Cosignature:
    checkpoint: Checkpoint
    witness: str
    key_id: str
    time: str
    sig: str

    def statement(self) -> dict[str, Any]:
        """The wire form (docs/PROTOCOL.md 10.8)."""
        return {
            "type": COSIGNATURE_TYPE,
            "checkpoint": self.checkpoint.body(),
            "witness": self.witness,
            "key_id": self.key_id,
            "time": self.time,
            "sig": self.sig,
        }


class Agreement(StrEnum):
    AGREES = "agrees"  # the same head at that size is held
    CONFLICTS = "conflicts"  # another head is held at that size: a split view
    AHEAD = "ahead"  # the checkpoint is past what is held; judged once it is reached


def signed_bytes(checkpoint: Checkpoint, *, witness: str, key_id: str, time: str) -> bytes:
    statement = {
        "checkpoint": checkpoint.body(),
        "key_id": key_id,
        "time": time,
        "witness": witness,
    }
    return SIGNING_PREFIX + canonical_bytes(statement)


def cosign(key: SigningKey, *, witness: str, checkpoint: Checkpoint, time: str) -> Cosignature:
    """``witness`` (this node) states that it holds ``checkpoint``; ``time`` is
    ``YYYY-MM-DDTHH:MM:SSZ``, passed in."""
    message = signed_bytes(checkpoint, witness=witness, key_id=key.key_id, time=time)
    return Cosignature(checkpoint, witness, key.key_id, time, b64url(key.sign(message)))


def parse_cosignature(raw: Any) -> Cosignature:
    """The shape of a received statement, every member checked and named; no signature."""
    if not isinstance(raw, dict):
        raise BadEvidence("cosignature: not a JSON object")
    if set(raw) != STATEMENT_MEMBERS:
        raise BadEvidence(f"cosignature: members must be exactly {sorted(STATEMENT_MEMBERS)}")
    if raw["type"] != COSIGNATURE_TYPE:
        raise BadEvidence(f"cosignature.type: must be {COSIGNATURE_TYPE!r}")
    cp = raw["checkpoint"]
    if not isinstance(cp, dict) or set(cp) != CHECKPOINT_MEMBERS:
        raise BadEvidence(f"cosignature.checkpoint: members must be {sorted(CHECKPOINT_MEMBERS)}")
    _text(cp["origin"], _NODE_ID, "checkpoint.origin", "a node id")
    size = cp["size"]
    if type(size) is not int or not 1 <= size <= MAX_SAFE_INTEGER:
        raise BadEvidence("cosignature.checkpoint.size: must be an integer from 1 to 2^53 - 1")
    _text(cp["head"], _HEAD, "checkpoint.head", "a sha256: header hash")
    _text(raw["witness"], _NODE_ID, "witness", "a node id")
    _text(raw["key_id"], _KEY_ID, "key_id", "ed25519:N")
    _text(raw["time"], _TIME, "time", "YYYY-MM-DDTHH:MM:SSZ")
    _text(raw["sig"], _SIG, "sig", "86 base64url characters")
    checkpoint = Checkpoint(cp["origin"], size, cp["head"])
    return Cosignature(checkpoint, raw["witness"], raw["key_id"], raw["time"], raw["sig"])


def check_cosignature(raw: Any, keys: WitnessKeys) -> Cosignature:
    """A received statement whose signature verifies under the witness's listed key."""
    cosig = parse_cosignature(raw)
    public = keys(cosig.witness, cosig.key_id)
    if public is None:
        raise BadEvidence(
            f"cosignature.key_id: {cosig.key_id} of {cosig.witness} may not co-sign "
            "(not listed, revoked, or the node is not active)"
        )
    message = signed_bytes(
        cosig.checkpoint, witness=cosig.witness, key_id=cosig.key_id, time=cosig.time
    )
    try:
        verify_bytes(
            message, b64url_decode(cosig.sig, field="sig"), public,
            origin=cosig.witness, key_id=cosig.key_id,
        )  # fmt: skip
    except HealthnetError as exc:
        raise BadEvidence(f"cosignature.sig: {exc}") from exc
    return cosig


def witness_keys(trust: Trust) -> WitnessKeys:
    """Who may co-sign, by the verifier's roster: an active node, with a key it lists that
    is not revoked. (A key closed by rotation still co-signs: a cosignature is about
    another origin's log, not about the witness's own seq window.)"""

    def lookup(witness: str, key_id: str) -> Ed25519PublicKey | None:
        node = trust.nodes.get(witness)
        if node is None or node.status is not NodeStatus.ACTIVE:
            return None
        key = next((k for k in node.keys if k.key_id == key_id), None)
        if key is None or key.status is not KeyStatus.ACTIVE:
            return None
        try:
            return public_key(key.public_key)
        except HealthnetError:
            return None

    return lookup


def compare(checkpoint: Checkpoint, held_hash: str | None) -> Agreement:
    """A checkpoint against the header hash this node holds at ``checkpoint.size`` (None:
    not held yet)."""
    if held_hash is None:
        return Agreement.AHEAD
    return Agreement.AGREES if held_hash == checkpoint.head else Agreement.CONFLICTS


def conflicting(cosigs: Iterable[Cosignature]) -> list[tuple[Cosignature, Cosignature]]:
    """Pairs of cosignatures naming two heads for one (origin, size): each pair is a split
    view, whoever signed them (two witnesses shown different logs, or one witness that
    signed both). One pair per (origin, size, other head)."""
    first: dict[tuple[str, int], Cosignature] = {}
    pairs: list[tuple[Cosignature, Cosignature]] = []
    seen: set[tuple[str, int, str]] = set()
    for cosig in cosigs:
        cp = cosig.checkpoint
        held = first.setdefault((cp.origin, cp.size), cosig)
        if held.checkpoint.head != cp.head and (cp.origin, cp.size, cp.head) not in seen:
            seen.add((cp.origin, cp.size, cp.head))
            pairs.append((held, cosig))
    return pairs


def witnesses_of(
    cosigs: Iterable[Cosignature], *, origin: str, seq: int, head_at: Mapping[int, str]
) -> set[str]:
    """The nodes that co-signed a checkpoint covering ``seq`` of ``origin``: its size is at
    least ``seq`` and its head is the hash ``head_at`` holds at that size (the chain from
    ``seq`` to the head having been checked by the caller). The origin itself is left out:
    it vouches for its own log by signing it; the others are the independent witnesses."""
    return {
        c.witness
        for c in cosigs
        if c.checkpoint.origin == origin
        and c.checkpoint.size >= seq
        and head_at.get(c.checkpoint.size) == c.checkpoint.head
        and c.witness != origin
    }


def _text(value: Any, pattern: re.Pattern[str], field: str, what: str) -> None:
    if not isinstance(value, str) or not pattern.match(value):
        raise BadEvidence(f"cosignature.{field}: must be {what}")
