"""Entity tags for conditional GETs (RFC 9110, 8.8.3 and 13.1.2), pure.

Only ``/federation/heads`` uses them: a peer asks for a node's heads every pull interval,
and between writes the answer is the same bytes each time. With the tag of the last
heads it saw in ``If-None-Match``, it gets a bodiless 304 instead (docs/PROTOCOL.md 10.2).
"""

from __future__ import annotations

import hashlib
import re

# What a client keeps from a peer's answer and sends back: a strong or weak opaque tag of
# visible ASCII, and short (a peer's tag is echoed in a request header).
_TAG = re.compile(r'(W/)?"[\x21\x23-\x7e]{0,76}"')  # at most 80 characters in all
_LISTED = re.compile(r'(?:W/)?"[^"]*"')


def etag_of(body: bytes) -> str:
    """A strong tag for exactly these bytes: 64 bits of their SHA-256. The tag only has to
    tell a node's successive heads apart, and it travels twice in most pulls."""
    return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


def usable(tag: str | None) -> str | None:
    """``tag`` if it is a well-formed entity tag a client may send back, else None."""
    return tag if tag is not None and _TAG.fullmatch(tag) else None


def not_modified(if_none_match: str | None, tag: str) -> bool:
    """Whether an ``If-None-Match`` field value matches ``tag``: ``*``, or any tag of
    its list by the weak comparison that ``If-None-Match`` uses (W/ ignored)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    ours = tag.removeprefix("W/")
    return any(found.removeprefix("W/") == ours for found in _LISTED.findall(if_none_match))
