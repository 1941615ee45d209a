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
                        slug=http_slug(status),
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
