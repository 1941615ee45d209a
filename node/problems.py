"""RFC 9457 problem responses: the one place where errors become HTTP status codes.

Every error body is ``application/problem+json`` with ``type``, ``title``, ``status``,
``detail`` and, for input errors, ``errors: [{"field", "reason"}]`` naming each field.
Anything unexpected becomes a 500 problem without internals (and is logged), but client
input is validated before it can reach code that could raise one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from federation.errors import HealthnetError, SignatureError, WireFormatError
from node.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
)

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"

_STATUS: list[tuple[type[HealthnetError], int, str]] = [
    (InvalidInput, 422, "invalid-input"),
    (WireFormatError, 422, "invalid-input"),
    (SignatureError, 422, "bad-signature"),
    (Unauthorized, 401, "unauthorized"),
    (Forbidden, 403, "forbidden"),
    (NotFound, 404, "not-found"),
    (Conflict, 409, "stale-version"),
    (PayloadTooLarge, 413, "too-large"),
    (RateLimited, 429, "rate-limited"),
]

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal server error",
}


_HTTP_SLUGS = {
    400: "bad-request",
    404: "not-found",
    405: "method-not-allowed",
    413: "too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
}


class FieldError(BaseModel):
    field: str
    reason: str


class Problem(BaseModel):
    """An RFC 9457 problem detail, as every error response of a node carries it."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None
    current_version: int | None = None


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error statuses, documented as ``application/problem+json``."""
    ref = {"schema": {"$ref": "#/components/schemas/Problem"}}
    return {
        code: {"description": _TITLES.get(code, "Error"), "content": {MEDIA_TYPE: ref}}
        for code in codes
    }


def document(app: FastAPI) -> None:
    """Register the Problem schema in the OpenAPI components (the routes refer to it)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, model in (("Problem", Problem), ("FieldError", FieldError)):
                components[name] = model.model_json_schema(
                    ref_template="#/components/schemas/{model}"
                )
                components[name].pop("$defs", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


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
        "title": _TITLES.get(status, "Error"),
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


def _from_healthnet(exc: HealthnetError, path: str) -> JSONResponse:
    status, slug = next(
        ((st, sl) for cls, st, sl in _STATUS if isinstance(exc, cls)), (500, "internal")
    )
    errors = None
    headers = None
    extra: dict[str, Any] = {}
    if isinstance(exc, InvalidInput):
        errors = [{"field": f, "reason": r} for f, r in exc.errors]
    elif isinstance(exc, WireFormatError):
        errors = [{"field": exc.field or "body", "reason": exc.reason}]
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, Unauthorized):
        headers = {"WWW-Authenticate": 'Bearer realm="healthnet"'}
    if isinstance(exc, Conflict) and exc.current_version is not None:
        extra["current_version"] = exc.current_version
    return problem(
        status, str(exc), slug=slug, errors=errors, instance=path, headers=headers, **extra
    )


def install(app: FastAPI) -> None:
    async def healthnet_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HealthnetError)
        return _from_healthnet(exc, request.url.path)

    async def request_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errs = field_errors(exc.errors())
        return problem(
            422,
            "the request is not valid",
            slug="invalid-input",
            errors=errs,
            instance=request.url.path,
        )

    async def model_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ValidationError)
        errs = field_errors({**e, "loc": ("body", *e["loc"])} for e in exc.errors())
        return problem(
            422,
            "the request is not valid",
            slug="invalid-input",
            errors=errs,
            instance=request.url.path,
        )

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return problem(
            exc.status_code,
            str(exc.detail),
            slug=_HTTP_SLUGS.get(exc.status_code),
            instance=request.url.path,
            headers=dict(exc.headers or {}) or None,
        )

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(
            500, "the node hit an unexpected error", slug="internal", instance=request.url.path
        )

    app.add_exception_handler(HealthnetError, healthnet_error)
    app.add_exception_handler(RequestValidationError, request_validation)
    app.add_exception_handler(ValidationError, model_validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413, counted as they stream in, and
    query strings carrying NUL characters with 422.

    The Content-Length check answers early; the streaming count catches chunked bodies and
    clients that understate their length.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").lower()
        if b"%00" in query or b"\x00" in query:
            # PostgreSQL text cannot hold NUL; no healthnet parameter can contain one.
            response = problem(
                422,
                "the query string contains a NUL character",
                slug="invalid-input",
                errors=[{"field": "query", "reason": "NUL characters are not allowed"}],
            )
            await response(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0 or declared > self.max_bytes:
                    status = 413 if declared > 0 else 400
                    response = problem(
                        status,
                        self._detail() if status == 413 else "invalid Content-Length",
                        slug=_HTTP_SLUGS[status],
                        instance=scope.get("path"),
                    )
                    await response(scope, receive, send)
                    return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise StarletteHTTPException(413, self._detail())
            return message

        await self.app(scope, counted, send)

    def _detail(self) -> str:
        return f"request bodies are limited to {self.max_bytes} bytes"
