"""gzip for the federation's responses, and for nothing else.

Peers pull pages of signed records: public JSON full of names and field keys, which gzip
shrinks to a third, and a one-record pull to about 70% (docs/PROTOCOL.md section 7
lets a peer send ``Accept-Encoding``; httpx does by default). Pages, the console and the
API stay uncompressed: a page that carries a CSRF token or a session's data next to text
an attacker can choose is what BREACH reads through compression, and a search page is
small and cheap enough already.

Level 1: a full sync moves about 1 kB per record, and level 1 compresses at about
300 MB/s here (level 6: half that) for a size within a few percent on such pages.
"""

from __future__ import annotations

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

PREFIX = "/federation/"
# Below this, gzip's 18 bytes of framing and the 47 of Content-Encoding and Vary cost
# about what they save; the heads of two origins (488 bytes of mostly hex) gzip to 351.
MINIMUM_BYTES = 400
LEVEL = 1


class FederationGzip:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=MINIMUM_BYTES, compresslevel=LEVEL)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)
