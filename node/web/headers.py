"""Security headers on every response: a strict Content-Security-Policy and friends.

Every page, script, style sheet and image the node serves is its own (shipped in the
package), so the policy allows only this origin: no inline script or style, no eval, no
framing, and forms post only back here. An injected ``<script>`` or a tag that survived
escaping therefore cannot run or phone out. ``data:`` images are allowed because Swagger
UI's style sheet draws its icons with them.

Only a document that a browser renders (HTML, SVG, or a response without a type) gets the
whole set. Data (JSON, calendars, scripts, style sheets, PNG) gets the API policy that
OWASP's REST cheat sheet gives, ``default-src 'none'; frame-ancestors 'none'``, and
``nosniff``: a browser that is tricked into rendering it still runs nothing and frames
nothing, and the 270 bytes the rest would add to every federation response (half of a
one-record sync round, issue 13) buy no protection there.

A pure ASGI middleware (not ``BaseHTTPMiddleware``) so streaming responses stream and the
cost is one list append per response.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

DATA_POLICY = "default-src 'none'; frame-ancestors 'none'"

HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
DATA_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", DATA_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
)
# What a browser renders as a page, with scripts: these get the whole set.
DOCUMENT_TYPES = (b"text/html", b"image/svg+xml", b"application/xhtml+xml", b"text/xml")


def headers_for(content_type: bytes | None, status: int = 200) -> tuple[tuple[bytes, bytes], ...]:
    """The security headers a response of ``content_type`` gets. Pure.

    A 304 gets none: it has no body, and a cache updates the stored response's headers
    with those of the 304 (RFC 9111, 4.3.4), so the stored ones must stay as they were."""
    if status == 304:
        return ()
    if content_type is None:
        return HEADERS  # unknown: a browser may sniff it as a page
    kind = content_type.split(b";", 1)[0].strip().lower()
    return HEADERS if kind in DOCUMENT_TYPES else DATA_HEADERS


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                present = {name.lower(): value for name, value in headers}
                wanted = headers_for(present.get(b"content-type"), message.get("status", 200))
                extra = [(n, v) for n, v in wanted if n not in present]
                message["headers"] = [*headers, *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
