"""The FHIR layer's error: an answer given as an OperationOutcome. Pure."""

from __future__ import annotations

from federation.errors import HealthnetError


class FhirError(HealthnetError):
    """An answer the FHIR layer gives as an OperationOutcome: the HTTP status, the FHIR
    issue type (``invalid``, ``not-supported``, ``not-found``, ``deleted`` …), a message,
    and the parameter at fault. The FHIR router catches it; it never reaches the global
    problem handler."""

    def __init__(
        self, status: int, code: str, diagnostics: str, *, expression: str | None = None
    ) -> None:
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.expression = expression
        super().__init__(diagnostics)


def bad(param: str, reason: str) -> FhirError:
    return FhirError(400, "invalid", f"{param}: {reason}", expression=param)
