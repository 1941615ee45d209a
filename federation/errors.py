"""The exception tree of healthnet, from the wire format outwards.

One tree, so that every error a node raises on purpose is a ``HealthnetError`` and the
HTTP layer can answer each with the right status instead of a 500. This module holds the
federation's branches; ``node.errors`` the node's and ``node.fhir.errors`` the FHIR
view's. The whole tree::

    HealthnetError
    ├── WireFormatError            malformed input: names the field and the reason
    │   ├── MalformedPage          a page of records that breaks the page rules
    │   ├── StaleJoin              a join request created too long ago, or in the future
    │   └── BadEvidence            an equivocation proof or a cosignature that proves nothing
    ├── SignatureError             a record that must not be stored
    │   ├── BadSignature           the bytes were not signed by that key
    │   │   └── BadJoinSignature   a join request not signed by the key it carries
    │   ├── BodyMismatch           the body is not the one the header's body_hash commits to
    │   ├── UnknownKey             no such key for that origin (or not the pinned hub key)
    │   ├── RevokedKey             the key was revoked or not valid for that record
    │   └── OutOfScope             the origin may not publish that record
    ├── PeerError                  a peer could not be synced with (it is backed off)
    │   ├── PeerUnreachable        connection refused, timed out, reset
    │   └── PeerBadResponse        an HTTP error, a body that is not the protocol, too large
    ├── RosterError                a roster edit the hub refuses
    │   ├── AlreadyListed          the node, or that key of the node, is listed already
    │   ├── NotInRoster            no such node in the roster, or no such key of a node
    │   ├── KeyOrderError          a new key must start after every key already listed
    │   ├── HubStaysActive         the hub cannot suspend or revoke itself
    │   ├── IdentityMismatch       a node presents another key (or node id) than expected
    │   └── InvalidRoster          the edited roster would fail its own validation
    ├── ConfigError                (node.errors) a node home or file that cannot be used
    ├── InvalidInput               (node.errors) one or more (field, reason) pairs
    ├── Unauthorized               (node.errors) no or unknown bearer token
    │   └── SignInRequired         a console page asked for without a live session
    ├── Forbidden                  (node.errors) the caller may not do that
    │   ├── NotTheHub              only the hub edits and publishes the roster
    │   └── RefusedForm            a console form without its CSRF token, or from elsewhere
    ├── NotFound                   (node.errors)
    │   ├── UnknownRecord          no member or event of that id
    │   ├── NoRoster               this node holds no roster (yet)
    │   ├── NotAHub                a hub-only endpoint asked of another node
    │   └── UploadGone             a console upload imported, cancelled or expired
    ├── Conflict                   (node.errors) stale version, or an id of another kind
    │   ├── ReplayedJoin           a join request whose nonce the hub has seen
    │   └── JoinClosed             a join request that is no longer pending
    ├── PayloadTooLarge            (node.errors)
    ├── RateLimited                (node.errors) carries retry_after seconds
    ├── NodeUnreachable            (node.errors) a node the CLI talks to did not answer
    ├── StorageError               (node.errors) internal: a storage invariant broken
    │   ├── MissingSequence        an origin without its sequence row
    │   └── UnknownKind            a record kind with no search projection
    └── FhirError                  (node.fhir.errors) answered as an OperationOutcome
        ├── FhirInvalidParameter   a malformed parameter value or cursor
        ├── FhirUnsupportedParameter  a parameter, modifier or _type not supported
        ├── FhirUnsupportedFormat  a _format other than JSON
        ├── FhirNotServed          a resource type or path with no FHIR interaction
        ├── FhirNotFound           no such resource
        ├── FhirDeleted            the resource was deleted
        └── FhirMethodNotAllowed   any method but a read; carries the allowed methods

Every class derives from ``Exception`` (never ``BaseException``). No error carries an HTTP
status: what an error means is decided where it is raised, how it is answered in exactly
one place, ``node.problems`` (its status table, and the problem+json, OperationOutcome and
HTML error page dialects). ``tests/test_errors.py`` holds the code to both: every ``raise``
names a class of this tree, and every leaf has a status other than 500 unless it is
documented there as internal.
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


class BadJoinSignature(BadSignature):
    """A join request (``federation.joining``) whose ``sig`` is missing, malformed or does
    not verify under the public key the request carries. Unlike a peer's record it comes
    from a person at a command line, so it names the field at fault, as an input error
    does; ``node.problems`` lists it among the problem's errors."""

    def __init__(
        self,
        reason: str,
        *,
        field: str = "sig",
        origin: str | None = None,
        key_id: str | None = None,
    ) -> None:
        super().__init__(reason, origin=origin, key_id=key_id)
        self.field = field


class PeerError(HealthnetError):
    def __init__(self, reason: str, *, peer: str) -> None:
        self.peer = peer
        self.reason = reason
        super().__init__(f"peer {peer}: {reason}")


class PeerUnreachable(PeerError):
    pass


class PeerBadResponse(PeerError):
    pass


class MalformedPage(WireFormatError):
    """A page of records that breaks the page rules rather than one record's format: a
    page of origin A holding a record of origin B. Still "malformed" to the quarantine."""


class StaleJoin(WireFormatError):
    """A join request whose ``created_at`` is outside the freshness window: older than the
    hub accepts (a request captured and sent again later) or ahead of the hub's clock by
    more than the allowed skew. The applicant signs a fresh one."""


class BadEvidence(WireFormatError):
    """An equivocation proof (``federation.evidence``) or a checkpoint cosignature
    (``federation.witness``) that does not prove what it claims: a member missing or extra,
    a signature that does not verify under the key the verifier's roster lists, or two
    headers that are consistent after all. The message names the member at fault."""


class RosterError(HealthnetError):
    """A roster edit the hub refuses. The roster edits are pure (``federation.roster``):
    each refusal names what in the current roster stands in the way."""


class AlreadyListed(RosterError):
    pass


class NotInRoster(RosterError):
    pass


class KeyOrderError(RosterError):
    """Key windows are ordered by ``from_seq``: a new key must start after every key the
    node already lists, or two keys would be valid for the same sequence numbers."""


class HubStaysActive(RosterError):
    """The hub signs the roster: suspended or revoked, it could sign no roster that
    restores it."""


class IdentityMismatch(RosterError):
    """The node at the URL presents a key (or a node id) other than the one given out of
    band: admitting it would trust whoever answers at that URL."""


class InvalidRoster(RosterError):
    """The edited roster would fail ``RosterBody`` validation: signed anyway, every peer
    would refuse it as malformed."""
