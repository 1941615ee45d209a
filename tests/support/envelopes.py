"""The one builder of signed envelopes for tests, and golden-vector cases as envelopes."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from federation.keys import SigningKey
from federation.signing import seal

ISSUED = "2026-11-24T12:30:00Z"  # half an hour after the test clock's start


def sealed(
    key: SigningKey,
    origin: str,
    seq: int,
    prev: str | None,
    body: Mapping[str, Any] | None,
    *,
    record_id: str | None = None,
    kind: str = "member",
    version: int = 1,
    issued_at: str = ISSUED,
) -> dict[str, Any]:
    """``{"record", "body", "sig"}`` signed by ``key`` (which need not be ``origin``'s: a
    forgery); ``body=None`` is a tombstone; a fresh record id unless one is given."""
    return seal(
        key=key,
        origin=origin,
        seq=seq,
        record_id=record_id or str(uuid.uuid4()),
        kind=kind,
        version=version,
        issued_at=issued_at,
        body=body,
        prev=prev,
    )


def vector_envelope(case: Mapping[str, Any]) -> dict[str, Any]:
    """The envelope of a case of tests/vectors/record_vectors.json (header, body, sig)."""
    return {"record": case["header"], "body": case["body"], "sig": case["sig"]}
