"""Checking one received record: pure functions, no database and no network.

Every record from a peer passes these checks, in the order of docs/PROTOCOL.md 10.1,
before anything is stored: shape (including the chain and tombstone rules), the roster key
for that origin and seq, the body hash, the body schema, the origin's scope, and finally
the Ed25519 signature, which is the expensive part and may run on a thread pool.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ValidationError

from federation.canonical import Duplicated, b64url_decode, canonical_bytes, loads_page, sha256_tag
from federation.errors import (
    BadSignature,
    BodyMismatch,
    HealthnetError,
    MalformedPage,
    SignatureError,
    WireFormatError,
)
from federation.signing import verify_bytes
from federation.trust import Trust
from schemas.event import EventBody
from schemas.fields import NUL_CHECKED
from schemas.member import MemberBody
from schemas.record import Envelope
from schemas.roster import RosterBody

BODY_MODELS: dict[str, type[BaseModel]] = {
    "member": MemberBody,
    "event": EventBody,
    "roster": RosterBody,
}


@dataclass(frozen=True)
class Candidate:
    """A received envelope that passed every check except the signature itself."""

    raw: dict[str, Any]
    header_bytes: bytes
    body_bytes: bytes | None
    public: Ed25519PublicKey
    signature: bytes

    @property
    def header(self) -> dict[str, Any]:
        header: dict[str, Any] = self.raw["record"]
        return header


def prepare(raw: Any, trust: Trust, *, origin: str) -> Candidate:
    """Every check but the Ed25519 one, in the order of docs/PROTOCOL.md 10.1, or raise."""
    if not isinstance(raw, dict):
        raise WireFormatError("not a JSON object")
    if type(raw) is Duplicated:
        # I-JSON (RFC 7493): two parsers could read different values for the name, so
        # nothing in this record can be trusted to be what was signed.
        raise WireFormatError(f"member name {raw.duplicate!r} appears twice: not I-JSON")
    envelope = Envelope.model_validate(raw)  # shape, including the chain and deleted rules
    header = envelope.record
    if header.origin != origin:
        raise MalformedPage(f"record of origin {header.origin} in a page of {origin}")
    public = trust.key_for(origin=header.origin, key_id=header.key_id, seq=header.seq)
    header_bytes = canonical_bytes(raw["record"])
    body = raw["body"]
    body_bytes = None
    if body is not None:
        body_bytes = canonical_bytes(body)
        if sha256_tag(body_bytes) != header.body_hash:
            raise BodyMismatch("body does not match body_hash", origin=origin, key_id=header.key_id)
        # A NUL anywhere in the body, key or value, is written ``\u0000`` in its canonical
        # bytes: without that text the schema's own walk for NULs has nothing to find.
        nul_free = b"\\u0000" not in body_bytes
        BODY_MODELS[header.kind].model_validate(body, context={NUL_CHECKED: nul_free})
    trust.check_scope(raw["record"], body)
    signature = b64url_decode(raw["sig"], field="sig")
    return Candidate(raw, header_bytes, body_bytes, public, signature)


def verify(candidate: Candidate) -> None:
    """The signature check alone: the expensive part, safe to run on several threads
    (it releases the GIL)."""
    header = candidate.header
    verify_bytes(
        candidate.header_bytes,
        candidate.signature,
        candidate.public,
        origin=header["origin"],
        key_id=header["key_id"],
    )


@dataclass(frozen=True)
class Checked:
    """A page's verdict in plain, picklable values: the canonical header and body bytes of
    each record that passed every check, in page order (a prefix of the page), and the
    (reason, detail) of the record right after them if that one failed."""

    passed: list[tuple[bytes, bytes | None]]
    failure: tuple[str, str] | None = None


def check_page(
    records: Sequence[Any], trust: Trust, origin: str, pool: Executor | None = None
) -> Checked:
    """:func:`verified`, as a :class:`Checked` (what a worker process sends back)."""
    candidates, failure = verified(records, trust, origin, pool)
    return Checked(
        [(c.header_bytes, c.body_bytes) for c in candidates],
        None if failure is None else (reason_of(failure[1]), str(failure[1])),
    )


def check_page_bytes(body: bytes, trust: Trust, origin: str) -> Checked:
    """:func:`check_page` of a records response as received (``{"records": [...]}``),
    parsed the way the sync client parses it. What a verify worker process runs: it
    imports only ``federation`` and ``schemas``."""
    data: Any = loads_page(body)
    return check_page(data["records"], trust, origin)


def reason_of(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "malformed"
    if isinstance(exc, SignatureError):
        return type(exc).__name__  # BadSignature, BodyMismatch, UnknownKey, RevokedKey, OutOfScope
    return "malformed"


def _verify_quietly(candidate: Candidate) -> BadSignature | None:
    try:
        verify(candidate)
    except BadSignature as exc:
        return exc
    return None


def verified(
    records: Sequence[Any], trust: Trust, origin: str, pool: Executor | None
) -> tuple[list[Candidate], tuple[Any, Exception] | None]:
    """Check a page in order; return the candidates before the first failure and it. The
    failed record, if any, is the one right after the candidates returned.

    With a pool, each signature check is submitted as soon as its record is prepared, so
    the pool verifies (outside the GIL) while this thread prepares the next records.
    """
    candidates: list[Candidate] = []
    pending: list[Future[BadSignature | None]] = []
    failure: tuple[Any, Exception] | None = None
    for raw in records:
        try:
            candidates.append(prepare(raw, trust, origin=origin))
        except (HealthnetError, ValidationError, KeyError, TypeError) as exc:
            failure = (raw, exc)
            break
        if pool is not None:
            pending.append(pool.submit(_verify_quietly, candidates[-1]))
        if candidates[-1].header["kind"] == "roster":
            # The records after a roster may be signed with a key that roster introduces:
            # end the page here, so the next one is checked against the new roster.
            break
    if pool is not None:
        outcomes = [f.result() for f in pending]
    else:
        outcomes = [_verify_quietly(c) for c in candidates]
    for index, outcome in enumerate(outcomes):
        if outcome is not None:
            return candidates[:index], (candidates[index].raw, outcome)
    return candidates, failure
