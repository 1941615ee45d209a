"""Join requests: signed, verified and fingerprinted as pure functions (docs/PROTOCOL.md 10.7).

A prospective node signs what the hub needs to list it (``schemas.join.JoinRequest``)
with the key its node id derives from. The signature proves that whoever sent the request
holds that key, and so owns that node id; an admin approving it still decides whether the
organization belongs in the network, helped by a fingerprint of the key that the two
operators can read to each other over the phone.

The envelope is ``{"type": JOIN_TYPE, "request": {...}, "sig": base64url}``. The signature
covers ``SIGNING_PREFIX`` followed by the RFC 8785 bytes of ``request`` as received (never
a re-encoding through the model, as for records). The prefix is the domain separation: a
record's or roster's signed bytes are a canonical JSON object and start with ``{``, these
start with ``h``, so no signature of one kind can ever be presented as the other.

No clock and no I/O here: ``verify_join`` takes ``now``; the hub's shell (``node.joins``)
stores what it returns.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from pydantic import ValidationError

from federation import keys
from federation.canonical import b64url, b64url_decode, canonical_bytes, loads
from federation.errors import BadJoinSignature, StaleJoin, WireFormatError
from schemas.geo import Region
from schemas.instants import parse_utc
from schemas.join import JoinRequest

JOIN_TYPE = "healthnet.join.v1"
SIGNING_PREFIX = b"healthnet.join.v1\n"
ENVELOPE_MEMBERS = frozenset({"type", "request", "sig"})
# The canonical request: every field at its longest, in 4-byte UTF-8, stays below this.
MAX_REQUEST_BYTES = 4096
# The envelope as sent (JSON escapes can make it several times its canonical size).
MAX_ENVELOPE_BYTES = 16 * 1024
# How old a request may be when the hub reads it, and how far ahead of the hub's clock.
# The command line sends it the moment it is signed: an hour allows for a retry, not for
# a request captured and replayed days later (replays inside the window are refused by
# the hub's record of nonces).
MAX_AGE = timedelta(hours=1)
MAX_SKEW = timedelta(minutes=5)


def signed_bytes(request: Mapping[str, Any]) -> bytes:
    """What a join signature covers: the prefix, then the canonical bytes of ``request``."""
    return SIGNING_PREFIX + canonical_bytes(dict(request))


def sign_join(key: keys.SigningKey, body: Mapping[str, Any]) -> dict[str, Any]:
    """The envelope of a join request signed by ``key``.

    ``body`` is validated first (an applicant learns of a bad field before the hub does)
    and signed as the model writes it (whitespace stripped, coordinates rounded, absent
    optional fields left out), so what the hub reads is what was signed. ``body`` must
    carry this key's public key and key id: a request signed by one key for another
    would never verify.
    """
    request = _model(body).model_dump(mode="json", exclude_none=True)
    if request["public_key"] != key.public_b64 or request["key_id"] != key.key_id:
        raise WireFormatError("is not the signing key's", field="request.public_key")
    sig = b64url(key.sign(signed_bytes(request)))
    return {"type": JOIN_TYPE, "request": request, "sig": sig}


def parse(raw: bytes) -> Any:
    """The envelope from the bytes of a request body: at most ``MAX_ENVELOPE_BYTES``, and
    JSON without duplicate member names (two parsers must not disagree on what was signed)."""
    if len(raw) > MAX_ENVELOPE_BYTES:
        raise WireFormatError(
            f"is {len(raw)} bytes, more than the {MAX_ENVELOPE_BYTES} a join request may be",
            field="body",
        )
    try:
        return loads(raw)
    except WireFormatError as exc:
        raise WireFormatError(exc.reason, field="body") from exc


def verify_join(
    envelope: Any,
    *,
    now: datetime,
    max_age: timedelta = MAX_AGE,
    region: Region | None = None,
) -> JoinRequest:
    """The request of a join envelope, once everything about it checks out.

    In this order, each failure naming its field: the envelope's shape; the request's
    size; the request's schema; the signature under the public key it carries
    (``BadJoinSignature``); that the node id derives from that key; that ``created_at``
    is no older than ``max_age`` and no more than ``MAX_SKEW`` ahead of ``now``
    (``StaleJoin``); and, if ``region`` is given, that the request is for that region.
    """
    request = _shape(envelope)
    model = _model(request)
    _check_signature(request, envelope["sig"], model)
    derived = keys.node_id_for(b64url_decode(model.public_key, field="request.public_key"))
    if model.node_id != derived:
        raise WireFormatError(
            f"does not derive from public_key (that key's node id is {derived})",
            field="request.node_id",
        )
    created = parse_utc(model.created_at)
    if created < now - max_age:
        raise StaleJoin(
            f"is older than {_span(max_age)}: sign a new request", field="request.created_at"
        )
    if created > now + MAX_SKEW:
        raise StaleJoin(
            f"is more than {_span(MAX_SKEW)} ahead of the hub's clock: check the clock",
            field="request.created_at",
        )
    if region is not None and model.region is not region:
        raise WireFormatError(f"must be {region.value}", field="request.region")
    return model


def fingerprint(public_key_b64: str) -> str:
    """A public key's fingerprint for people: the first 80 bits of the SHA-256 of the raw
    32-byte key, in base32 (RFC 4648, no padding), as four groups of four characters.

    Both operators see it (the applicant's ``healthnet join`` and ``info``, the hub's
    listing) and read it to each other: a request sent by someone else, with another
    key, shows another fingerprint. 80 bits is far beyond what anyone can match by
    generating keys, and 16 letters and digits are still easy to say.
    """
    raw = b64url_decode(public_key_b64, field="public_key")
    if len(raw) != 32:
        raise WireFormatError("an Ed25519 public key is 32 bytes", field="public_key")
    text = base64.b32encode(hashlib.sha256(raw).digest()[:10]).decode("ascii")
    return "-".join(text[i : i + 4] for i in range(0, 16, 4))


def _shape(envelope: Any) -> dict[str, Any]:
    """The request member of a well-formed envelope, within the size limit."""
    if not isinstance(envelope, dict):
        raise WireFormatError("must be a JSON object", field="body")
    for name in sorted(ENVELOPE_MEMBERS - set(envelope)):
        if name == "sig":
            raise BadJoinSignature("is missing: the request is not signed")
        raise WireFormatError("is missing", field=name)
    extra = sorted(set(envelope) - ENVELOPE_MEMBERS)
    if extra:
        raise WireFormatError("is not a member of a join envelope", field=extra[0])
    if envelope["type"] != JOIN_TYPE:
        raise WireFormatError(f"must be {JOIN_TYPE!r}", field="type")
    request = envelope["request"]
    if not isinstance(request, dict):
        raise WireFormatError("must be a JSON object", field="request")
    size = len(canonical_bytes(request))
    if size > MAX_REQUEST_BYTES:
        raise WireFormatError(
            f"is {size} bytes canonical, more than {MAX_REQUEST_BYTES}", field="request"
        )
    return request


def _model(request: Mapping[str, Any]) -> JoinRequest:
    try:
        return JoinRequest.model_validate(dict(request))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        reason = str(first["msg"]).removeprefix("Value error, ")
        raise WireFormatError(reason, field=f"request.{where}" if where else "request") from exc


def _check_signature(request: dict[str, Any], sig: Any, model: JoinRequest) -> None:
    who = {"origin": model.node_id, "key_id": model.key_id}
    if not isinstance(sig, str):
        raise BadJoinSignature("must be a base64url string", **who)
    try:
        raw = b64url_decode(sig, field="sig")
    except WireFormatError as exc:
        raise BadJoinSignature(exc.reason, **who) from exc
    if len(raw) != 64:
        raise BadJoinSignature("an Ed25519 signature is 64 bytes", **who)
    public = keys.public_key(model.public_key, field="request.public_key")
    try:
        public.verify(raw, signed_bytes(request))
    except InvalidSignature as exc:
        raise BadJoinSignature("does not verify under request.public_key", **who) from exc


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"
