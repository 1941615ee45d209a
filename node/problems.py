"""Errors become HTTP answers here, and only here: one status table, three dialects.

Routers, pages and the FHIR view raise errors of the tree (``federation.errors``); none
builds an error response. ``_STATUS`` maps each class of the tree to a status and a
problem type slug, and ``node.dialects.dialect`` picks, from the request alone, how the answer is
written:

* ``fhir``: anything under ``/fhir``, as an OperationOutcome in ``application/fhir+json``
  (FHIR clients read an OperationOutcome, not a problem), written like the FHIR view's
  other answers: ``_pretty``, ``Preference-Applied`` and HEAD included (``fhir_response``);
* ``html``: a page route (``PageRoute``), or a path no route takes asked for by a browser
  (its ``Accept`` ranks ``text/html`` above JSON), as the error page
  ``node/web/templates/error.html``;
* ``problem``: everything else, RFC 9457 ``application/problem+json`` with ``type``,
  ``title``, ``status``, ``detail`` and, for input errors, ``errors: [{"field",
  "reason"}]`` naming each field.

Anything unexpected becomes a 500 without internals (and is logged), but client input is
validated before it can reach code that could raise one. The classes in ``INTERNAL`` are
such bugs or misconfigurations even though they are ours, and answer 500 too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from federation.errors import (
    BadJoinSignature,
    HealthnetError,
    InvalidRoster,
    NotInRoster,
    PeerError,
    RosterError,
    SignatureError,
    WireFormatError,
)
from node.dialects import PROBLEM_MEDIA_TYPE, dialect, negotiated
from node.errors import (
    ConfigError,
    Conflict,
    Forbidden,
    InvalidInput,
    JoinClosed,
    NodeUnreachable,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ReplayedJoin,
    SignInRequired,
    StorageError,
    Unauthorized,
    UnknownRecord,
)
from node.fhir import params as fhir_params
from node.fhir.errors import (
    FhirDeleted,
    FhirError,
    FhirInvalidParameter,
    FhirMethodNotAllowed,
    FhirNotFound,
    FhirNotServed,
    FhirUnsupportedFormat,
    FhirUnsupportedParameter,
)
from node.fhir.resources import operation_outcome

log = logging.getLogger(__name__)

MEDIA_TYPE = PROBLEM_MEDIA_TYPE
FHIR_MEDIA_TYPE = "application/fhir+json; fhirVersion=4.0"

# The one status table: the first row whose class the error is an instance of decides.
# Subclasses come before their family.
_STATUS: tuple[tuple[type[HealthnetError], int, str], ...] = (
    (InvalidInput, 422, "invalid-input"),
    (WireFormatError, 422, "invalid-input"),
    (SignatureError, 422, "bad-signature"),
    (Unauthorized, 401, "unauthorized"),
    (Forbidden, 403, "forbidden"),
    (NotFound, 404, "not-found"),
    (ReplayedJoin, 409, "replayed"),
    (JoinClosed, 409, "join-closed"),
    (Conflict, 409, "stale-version"),
    (PayloadTooLarge, 413, "too-large"),
    (RateLimited, 429, "rate-limited"),
    (NotInRoster, 404, "not-found"),
    (InvalidRoster, 422, "invalid-input"),
    (RosterError, 409, "roster-conflict"),
    (PeerError, 502, "peer-failed"),
    (NodeUnreachable, 502, "peer-failed"),
    (FhirInvalidParameter, 400, "bad-request"),
    (FhirUnsupportedParameter, 400, "bad-request"),
    (FhirNotServed, 404, "not-found"),
    (FhirNotFound, 404, "not-found"),
    (FhirMethodNotAllowed, 405, "method-not-allowed"),
    (FhirUnsupportedFormat, 406, "not-acceptable"),
    (FhirDeleted, 410, "gone"),
)

# Ours, but a bug or a misconfiguration if one reaches HTTP: answered like any unexpected
# error (500, logged, no detail). ``tests/test_errors.py`` lets only these map to 500.
INTERNAL: tuple[type[HealthnetError], ...] = (ConfigError, StorageError)

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    410: "Gone",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
}


_HTTP_SLUGS = {
    400: "bad-request",
    404: "not-found",
    405: "method-not-allowed",
    413: "too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
}

# The FHIR issue type of an error from outside the FHIR branch, by status.
_FHIR_ISSUES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    413: "too-long",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
    502: "transient",
}

# Every page that takes input is a search (the directory, the events, the nearest node).
_SEARCH_FAILED = "That search could not be run"
_UNEXPECTED = "the node hit an unexpected error"


def http_slug(status: int) -> str:
    """The problem type slug of a plain HTTP status (one the framework or a limit raises)."""
    return _HTTP_SLUGS[status]


def status_of(error: type[HealthnetError]) -> tuple[int, str]:
    """The status and problem type slug of a class of the tree (500 if none fits)."""
    for cls, status, slug in _STATUS:
        if issubclass(error, cls):
            return status, slug
    return 500, "internal"


def problem(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    errors: Sequence[dict[str, str]] | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:healthnet:problem:{slug or status}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = list(errors)
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def field_errors(errors: Iterable[Any]) -> list[dict[str, str]]:
    """pydantic error dicts → [{"field": "body.country", "reason": "..."}]."""
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        reason = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        out.append({"field": ".".join(loc) or "body", "reason": reason})
    return out


@dataclass
class _Failure:
    """An error, translated once and then written in the request's dialect."""

    status: int
    slug: str | None
    detail: str
    errors: list[dict[str, str]] | None = None
    headers: dict[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _from_healthnet(exc: HealthnetError) -> _Failure:
    status, slug = status_of(type(exc))
    if status == 500:
        return _Failure(500, "internal", _UNEXPECTED)
    failure = _Failure(status, slug, str(exc))
    if isinstance(exc, InvalidInput):
        failure.errors = [{"field": f, "reason": r} for f, r in exc.errors]
    elif isinstance(exc, WireFormatError | BadJoinSignature):
        failure.errors = [{"field": exc.field or "body", "reason": exc.reason}]
    if isinstance(exc, RateLimited):
        failure.headers = {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, Unauthorized) and not isinstance(exc, SignInRequired):
        failure.headers = {"WWW-Authenticate": 'Bearer realm="healthnet"'}
    if isinstance(exc, FhirMethodNotAllowed):
        failure.headers = {"Allow": ", ".join(exc.allowed)}
    if isinstance(exc, Conflict) and exc.current_version is not None:
        failure.extra["current_version"] = exc.current_version
    return failure


def _answer(request: Request, failure: _Failure, exc: Exception) -> Response:
    chosen = dialect(request)
    if chosen == "fhir":
        return _fhir(request, failure, exc)
    if chosen == "html":
        response = _html(request, failure, exc)
    else:
        response = problem(
            failure.status,
            failure.detail,
            slug=failure.slug,
            errors=failure.errors,
            instance=request.url.path,
            headers=failure.headers,
            **failure.extra,
        )
    if negotiated(request):
        response.headers["Vary"] = "Accept"  # caches must keep the page and the problem apart
    return response


def fhir_response(
    request: Request,
    status: int,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
    *,
    pretty: bool,
) -> Response:
    """Every FHIR answer, a resource, a Bundle or an OperationOutcome, written alike:
    compact JSON (indented for ``_pretty=true``), ``Preference-Applied`` when lenient
    handling was asked for, and for HEAD GET's status and headers (``Content-Length``
    included) without the body."""
    headers = dict(headers or {})
    if fhir_params.lenient(request.headers.get("prefer", "")):
        headers["Preference-Applied"] = "handling=lenient"
    text = json.dumps(
        body,
        ensure_ascii=False,
        indent=2 if pretty else None,
        separators=None if pretty else (",", ":"),
    )
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(text.encode("utf-8")))
        return Response(status_code=status, media_type=FHIR_MEDIA_TYPE, headers=headers)
    return Response(text, status_code=status, media_type=FHIR_MEDIA_TYPE, headers=headers)


def _fhir(request: Request, failure: _Failure, exc: Exception) -> Response:
    """An OperationOutcome with one issue: the FHIR leaf's issue type, message and
    parameter; for any other error the issue type of its status; for a 500 a fixed text."""
    try:
        pretty = fhir_params.check_format(request.query_params.multi_items())
    except FhirError:
        pretty = False  # the _format itself was refused: answered compact, as JSON
    if isinstance(exc, FhirError):
        outcome = operation_outcome(exc.code, exc.diagnostics, expression=exc.expression)
    elif failure.status >= 500:
        outcome = operation_outcome("exception", "internal error")
    else:
        issue = _FHIR_ISSUES.get(failure.status, "processing")
        outcome = operation_outcome(issue, failure.detail)
    return fhir_response(request, failure.status, outcome, failure.headers, pretty=pretty)


def _html(request: Request, failure: _Failure, exc: Exception) -> Response:
    """The error page: a title and the (field, reason) pairs at fault."""
    # Imported here: the pages import the routers, which import this module.
    from node.web.pages import render

    if isinstance(exc, SignInRequired):
        # The console's pages send a signed-out person to the sign-in form, and back after.
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target = "/admin/sign-in" + (f"?{urlencode({'next': back})}" if back != "/admin" else "")
        return RedirectResponse(target, status_code=303)
    title = TITLES.get(failure.status, "Error")
    errors = [(e["field"], e["reason"]) for e in failure.errors or ()]
    if isinstance(exc, InvalidInput):
        title, errors = _SEARCH_FAILED, exc.errors
    elif isinstance(exc, WireFormatError):  # a cursor: the query as a whole is at fault
        title, errors = _SEARCH_FAILED, [("query", str(exc))]
    elif isinstance(exc, UnknownRecord):
        title, errors = f"No such {exc.kind}", [("id", str(exc))]
    elif isinstance(exc, StarletteHTTPException) and failure.status == 404:
        title, errors = "Page not found", [("", f"there is no page at {request.url.path}")]
    elif not errors:
        errors = [("", failure.detail)]
    context = {"title": title, "errors": errors}
    response = render(request, "error.html", context, status=failure.status)
    response.headers.update(failure.headers or {})
    return response


def install(app: FastAPI) -> None:
    async def healthnet_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HealthnetError)
        failure = _from_healthnet(exc)
        if failure.status == 500:
            log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return _answer(request, failure, exc)

    async def request_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errs = field_errors(exc.errors())
        failure = _Failure(422, "invalid-input", "the request is not valid", errs)
        return _answer(request, failure, exc)

    async def model_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ValidationError)
        errs = field_errors({**e, "loc": ("body", *e["loc"])} for e in exc.errors())
        failure = _Failure(422, "invalid-input", "the request is not valid", errs)
        return _answer(request, failure, exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        failure = _Failure(
            exc.status_code,
            _HTTP_SLUGS.get(exc.status_code),
            str(exc.detail),
            headers=dict(exc.headers or {}) or None,
        )
        return _answer(request, failure, exc)

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _answer(request, _Failure(500, "internal", _UNEXPECTED), exc)

    app.add_exception_handler(HealthnetError, healthnet_error)
    app.add_exception_handler(RequestValidationError, request_validation)
    app.add_exception_handler(ValidationError, model_validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
