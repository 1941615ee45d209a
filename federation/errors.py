"""The exception tree of healthnet, from the wire format outwards.

::

    HealthnetError
    ├── WireFormatError            malformed input: names the field and the reason
    ├── SignatureError             a record that must not be stored
    │   ├── BadSignature           the bytes were not signed by that key
    │   ├── BodyMismatch           the body is not the one the header's body_hash commits to
    │   ├── UnknownKey             no such key for that origin
    │   ├── RevokedKey             the key was revoked or not valid for that record
    │   └── OutOfScope             the origin may not publish that record
    ├── PeerError                  a peer could not be synced with (it is backed off)
    │   ├── PeerUnreachable        connection refused, timed out, reset
    │   └── PeerBadResponse        an HTTP error, a body that is not the protocol, too large
    └── (node.errors)              NotFound, Conflict, Unauthorized, Forbidden, RateLimited, ...

Every class derives from ``Exception`` (never ``BaseException``). The HTTP layer maps the
tree to status codes in exactly one place, ``node.problems``.
"""

from __future__ import annotations


class HealthnetError(Exception):
    """Base of every error healthnet raises on purpose."""


class WireFormatError(HealthnetError):
    """Input that does not follow the format. ``field`` is a dotted path or ``None``."""

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}" if field else reason)


class SignatureError(HealthnetError):
    """A record that failed verification. Names the origin and key id it claimed."""

    def __init__(self, reason: str, *, origin: str | None = None, key_id: str | None = None):
        self.origin = origin
        self.key_id = key_id
        self.reason = reason
        who = f" (origin {origin}, key {key_id})" if origin or key_id else ""
        super().__init__(f"{reason}{who}")


class BadSignature(SignatureError):
    pass


class BodyMismatch(SignatureError):
    pass


class UnknownKey(SignatureError):
    pass


class RevokedKey(SignatureError):
    pass


class OutOfScope(SignatureError):
    pass


class PeerError(HealthnetError):
    def __init__(self, reason: str, *, peer: str) -> None:
        self.peer = peer
        self.reason = reason
        super().__init__(f"peer {peer}: {reason}")


class PeerUnreachable(PeerError):
    pass


class PeerBadResponse(PeerError):
    pass
