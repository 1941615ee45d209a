"""The node's branches of the exception tree (the root is ``federation.errors``).

The whole tree is drawn once, in ``federation.errors`` (``tests/test_errors.py`` checks the
drawing against the classes defined here, there and in ``node.fhir.errors``).

Raise the leaf that says what went wrong; ``node.problems`` alone decides the HTTP status
and the answer's dialect (problem+json, OperationOutcome or HTML page). The leaves marked
internal are bugs or misconfigurations when they reach HTTP, and are answered 500 there.
Several are raised only on the command line (``ConfigError``, ``NodeUnreachable``), where
the command prints the message and exits non-zero.
"""

from __future__ import annotations

from federation.errors import HealthnetError


class ConfigError(HealthnetError):
    """A node home, key file or topology file that cannot be used as it is."""


class InvalidInput(HealthnetError):
    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in errors))


class Unauthorized(HealthnetError):
    pass


class SignInRequired(Unauthorized):
    """A console page asked for without a live session: the page answers with the
    sign-in form (a redirect to it), not with a bearer challenge."""


class Forbidden(HealthnetError):
    pass


class RefusedForm(Forbidden):
    """A console form posted without the CSRF token of the session it claims, or from
    another origin: refused before it changes anything (a cross-site request forgery,
    or a page left open across a sign-out)."""


class NotTheHub(Forbidden):
    """Only the hub edits and signs the roster; any other node publishing one would have
    it refused by every peer (``OutOfScope``)."""


class NotFound(HealthnetError):
    pass


class UnknownRecord(NotFound):
    """No member or event of that id here. ``kind`` and ``record_id`` say which, so that an
    answer can name what was looked for ("No such member")."""

    def __init__(self, kind: str, record_id: str) -> None:
        self.kind = kind
        self.record_id = record_id
        super().__init__(f"no {kind} {record_id}")


class NoRoster(NotFound):
    """This node holds no roster: a regional node before its first pull from the hub, or
    a hub that was never started."""


class NotAHub(NotFound):
    """A hub-only endpoint (``POST /federation/join``) asked of a node that is not the
    hub: to whoever asks, there is no such resource here."""


class UploadGone(NotFound):
    """A console import's staged upload that is no longer there (``node.uploads``):
    imported already, cancelled, expired, or never made. The person uploads it again."""


class Conflict(HealthnetError):
    def __init__(self, message: str, *, current_version: int | None = None) -> None:
        self.current_version = current_version
        super().__init__(message)


class ReplayedJoin(Conflict):
    """A join request whose nonce the hub has already seen: the same request sent again,
    or replayed by someone else. Refused before anything is stored or replaced."""


class JoinClosed(Conflict):
    """An approve or decline of a join request that is no longer pending: decided
    already, replaced by a newer request of the same node, or expired."""


class PayloadTooLarge(HealthnetError):
    pass


class RateLimited(HealthnetError):
    def __init__(self, message: str, *, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class NodeUnreachable(HealthnetError):
    """A node the command line talks to over HTTP (its own running server, a node being
    admitted, a demo node starting up) did not answer, or not usably. Unlike
    ``PeerError`` it is not about sync: nothing is backed off."""


class StorageError(HealthnetError):
    """Internal: the database does not hold what the code relies on. A bug, never input."""


class MissingSequence(StorageError):
    """An origin without its ``origin_sequences`` row: ``store.ensure_origin`` was not
    called before allocating sequence numbers for it."""


class UnknownKind(StorageError):
    """A record kind the search tables have no projection for. Kinds are validated
    before anything is stored, so only a bug gets here."""
