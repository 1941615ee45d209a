"""Equivocation evidence: two headers, both signed by one origin, that cannot both belong
to its log. Pure: no clock, no I/O; the keys come in as a lookup.

A log that claims to be tamper-evident must make a split view provable, not just
suspected. The proof is self-contained: anyone holding the origin's roster keys checks it
without asking anybody, and no honest origin can ever be framed, because only the
origin's key could have signed both headers. Three shapes prove it (docs/PROTOCOL.md
10.8):

- ``fork``: two different headers for the same ``seq``;
- ``broken_link``: a header at ``seq + 1`` whose ``prev`` is not the hash of the signed
  header at ``seq`` (the origin extended a different history);
- ``same_version``: two different headers for one record id and version, at different
  seqs (a version number is never reused).

Only headers travel, never bodies: a proof says nothing about the directory's content,
and a stub (body withheld) proves as much as the live version, since both share one header.
A suspended or revoked origin's proofs still check (its keys stay listed): suspending the
origin is what an operator does *because of* a proof.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from federation.errors import BadEvidence, HealthnetError
from federation.signing import header_hash, verify_header
from schemas.record import Envelope

EVIDENCE_TYPE = "healthnet.equivocation.v1"
PROOF_MEMBERS = frozenset({"type", "shape", "origin", "seq", "a", "b"})
SIDE_MEMBERS = frozenset({"record", "sig"})

# (origin, key id, seq) -> the key that was valid for that seq, or None.
KeyLookup = Callable[[str, str, int], Ed25519PublicKey | None]


class Shape(StrEnum):
    FORK = "fork"
    BROKEN_LINK = "broken_link"
    SAME_VERSION = "same_version"


@dataclass(frozen=True)
class Finding:
    """What a checked proof shows: ``origin`` signed both headers; ``seq`` is the lower of
    their seqs (the first one at which the two histories part)."""

    origin: str
    seq: int
    shape: Shape
    hashes: tuple[str, str]


def shape_of(a: Mapping[str, Any], b: Mapping[str, Any]) -> Shape | None:
    """Which proof two headers of one origin make, or None if they are consistent."""
    if a.get("origin") != b.get("origin"):
        return None
    ha, hb = header_hash(a), header_hash(b)
    if ha == hb:
        return None
    if a["seq"] == b["seq"]:
        return Shape.FORK
    low, high = (a, b) if a["seq"] < b["seq"] else (b, a)
    if high["seq"] == low["seq"] + 1 and high.get("prev") != header_hash(low):
        return Shape.BROKEN_LINK
    if a.get("id") == b.get("id") and a.get("version") == b.get("version"):
        return Shape.SAME_VERSION
    return None


def make_proof(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """The proof made of two signed envelopes (or ``{"record", "sig"}`` pairs) of one origin.

    The sides are ordered (lower seq first, then the lower header hash), so two nodes that
    hold the same two headers build byte-identical proofs and store one, not two."""
    headers = sorted(
        ((dict(x["record"]), str(x["sig"])) for x in (a, b)),
        key=lambda side: (side[0]["seq"], header_hash(side[0])),
    )
    (low, low_sig), (high, high_sig) = headers
    shape = shape_of(low, high)
    if shape is None:
        raise BadEvidence("the two headers are consistent: no equivocation")
    return {
        "type": EVIDENCE_TYPE,
        "shape": shape.value,
        "origin": low["origin"],
        "seq": low["seq"],
        "a": {"record": low, "sig": low_sig},
        "b": {"record": high, "sig": high_sig},
    }


def check_proof(proof: Any, keys: KeyLookup) -> Finding:
    """Check a proof received from anyone, or raise ``BadEvidence``/``BadSignature``
    naming what fails. Both signatures are checked under the origin's keys as the
    verifier's own roster lists them; nothing in the proof is taken on trust."""
    if not isinstance(proof, dict):
        raise BadEvidence("evidence: not a JSON object")
    if set(proof) != PROOF_MEMBERS:
        raise BadEvidence(f"evidence: members must be exactly {sorted(PROOF_MEMBERS)}")
    if proof["type"] != EVIDENCE_TYPE:
        raise BadEvidence(f"evidence.type: must be {EVIDENCE_TYPE!r}")
    headers = [_side(proof[name], name, keys) for name in ("a", "b")]
    a, b = headers
    if a["origin"] != b["origin"]:
        raise BadEvidence("evidence: the two headers are of different origins")
    shape = shape_of(a, b)
    if shape is None:
        raise BadEvidence("evidence: the two headers are consistent: no equivocation")
    if proof["shape"] != shape.value:
        raise BadEvidence(f"evidence.shape: the headers make a {shape.value!r} proof")
    low = min(a["seq"], b["seq"])
    if proof["origin"] != a["origin"] or proof["seq"] != low:
        raise BadEvidence("evidence.origin/seq: do not match the headers")
    return Finding(a["origin"], low, shape, (header_hash(a), header_hash(b)))


def _side(side: Any, name: str, keys: KeyLookup) -> dict[str, Any]:
    if not isinstance(side, dict) or set(side) != SIDE_MEMBERS:
        raise BadEvidence(f"evidence.{name}: must be {{'record', 'sig'}}")
    try:
        envelope = Envelope.model_validate(
            {"record": side["record"], "body": None, "sig": side["sig"]}
        )
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"])
        raise BadEvidence(f"evidence.{name}.{where}: {exc.errors()[0]['msg']}") from exc
    header = envelope.record
    public = keys(header.origin, header.key_id, header.seq)
    if public is None:
        raise BadEvidence(
            f"evidence.{name}.record: no key {header.key_id} of {header.origin} valid for "
            f"seq {header.seq} is known here"
        )
    try:
        verify_header(side["record"], side["sig"], public)
    except HealthnetError as exc:
        raise BadEvidence(f"evidence.{name}.sig: {exc}") from exc
    record: dict[str, Any] = side["record"]
    return record
