"""The FHIR layer's errors: refusals answered as an OperationOutcome. Pure.

Each leaf fixes its FHIR issue type (``code``); the message is the issue's
``diagnostics`` and ``expression`` names the parameter at fault. None carries an HTTP
status: ``node.problems`` maps each leaf to one (and writes the OperationOutcome), as it
does for the rest of the tree. Four leaves share ``not-supported`` and answer 400, 404,
405 and 406: the leaf, not the issue code, decides the status.
"""

from __future__ import annotations

from typing import ClassVar

from federation.errors import HealthnetError


class FhirError(HealthnetError):
    """A refusal the FHIR layer explains in an OperationOutcome. Raise a leaf."""

    code: ClassVar[str] = "processing"

    def __init__(self, diagnostics: str, *, expression: str | None = None) -> None:
        self.diagnostics = diagnostics
        self.expression = expression
        super().__init__(diagnostics)


class FhirInvalidParameter(FhirError):
    """A malformed value of a supported parameter (``_count=ten``), or a cursor this node
    did not issue for that query. Refused whether or not the client asked for lenient
    handling: leniency is about what the server supports, not about typos."""

    code = "invalid"


class FhirUnsupportedParameter(FhirError):
    """A parameter, modifier or ``_type`` this server does not support (strict handling)."""

    code = "not-supported"


class FhirUnsupportedFormat(FhirError):
    """A ``_format`` other than JSON: this server speaks JSON only."""

    code = "not-supported"


class FhirNotServed(FhirError):
    """A resource type this server does not serve, or a path with no FHIR interaction."""

    code = "not-supported"


class FhirNotFound(FhirError):
    code = "not-found"


class FhirDeleted(FhirError):
    """The resource's record was deleted (its signed tombstone is held), or a Location's
    record lost its site in a later version."""

    code = "deleted"


class FhirMethodNotAllowed(FhirError):
    """Any method but a read: the server is read-only. ``allowed`` lists the methods every
    FHIR path takes, for the answer's ``Allow`` header."""

    code = "not-supported"

    def __init__(self, diagnostics: str, *, allowed: tuple[str, ...]) -> None:
        self.allowed = allowed
        super().__init__(diagnostics)


def bad(param: str, reason: str) -> FhirInvalidParameter:
    return FhirInvalidParameter(f"{param}: {reason}", expression=param)
