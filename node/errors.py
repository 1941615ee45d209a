"""The node's branch of the exception tree (the root is ``federation.errors``).

::

    HealthnetError
    ├── WireFormatError            422  (federation.errors)
    ├── SignatureError ...         422  (federation.errors)
    ├── ConfigError                     a node home that cannot be used (CLI only)
    ├── InvalidInput               422  one or more (field, reason) pairs
    ├── Unauthorized               401  no or unknown bearer token
    ├── Forbidden                  403  token lacks the role
    ├── NotFound                   404
    ├── Conflict                   409  stale version (optimistic concurrency)
    ├── PayloadTooLarge            413
    └── RateLimited                429  carries retry_after seconds

``node.problems`` turns each into an RFC 9457 problem response; nothing else maps errors
to status codes.
"""

from __future__ import annotations

from federation.errors import HealthnetError


class ConfigError(HealthnetError):
    pass


class InvalidInput(HealthnetError):
    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in errors))


class Unauthorized(HealthnetError):
    pass


class Forbidden(HealthnetError):
    pass


class NotFound(HealthnetError):
    pass


class Conflict(HealthnetError):
    def __init__(self, message: str, *, current_version: int | None = None) -> None:
        self.current_version = current_version
        super().__init__(message)


class PayloadTooLarge(HealthnetError):
    pass


class RateLimited(HealthnetError):
    def __init__(self, message: str, *, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)
