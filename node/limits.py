"""Limits on what a request may carry, enforced before any route reads it."""

from __future__ import annotations

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node.problems import http_slug, problem


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413, counted as they stream in, and
    query strings carrying NUL characters with 422.

    The Content-Length check answers early; the streaming count catches chunked bodies and
    clients that understate their length.

    One route, ``POST upload_path`` (the console's file upload), may send up to
    ``max_upload_bytes`` instead. Its refusal is raised inside the route rather than
    answered here, so that the person gets the upload page saying so (an HTML page in the
    route's dialect), not a JSON problem in a browser tab; the route reads nothing first.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        *,
        upload_path: str | None = None,
        max_upload_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_path = upload_path
        self.max_upload_bytes = max_upload_bytes or max_bytes

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
        upload = scope.get("method") == "POST" and scope.get("path") == self.upload_path
        limit = self.max_upload_bytes if upload else self.max_bytes
        declared_over = False
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > limit and upload:
                    declared_over = True  # refused at the route's first read, below
                elif declared < 0 or declared > limit:
                    status = 413 if declared > 0 else 400
                    response = problem(
                        status,
                        self._detail(limit) if status == 413 else "invalid Content-Length",
                        slug=http_slug(status),
                        instance=scope.get("path"),
                    )
                    await response(scope, receive, send)
                    return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            if declared_over:
                raise StarletteHTTPException(413, self._detail(limit))
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise StarletteHTTPException(413, self._detail(limit))
            return message

        await self.app(scope, counted, send)

    def _detail(self, limit: int) -> str:
        if limit == self.max_upload_bytes and limit != self.max_bytes:
            return f"uploaded files are limited to {limit:,} bytes"
        return f"request bodies are limited to {limit} bytes"
