"""Profile links for social accounts given by handle only. Pure.

A member may publish ``x: @MayoClinic`` without a URL; a reader wants a link. The URL is
built only where the platform has one stable public pattern for a handle, and only from a
handle made of the characters that platform allows, so nothing a member typed can turn a
link into something else (the template escapes it too). Otherwise: no link, the handle is
shown as text. An explicit ``url`` always wins (checked by ``views.safe_url`` as before).
"""

from __future__ import annotations

import re
from urllib.parse import quote

# platform -> (allowed handle without "@", URL pattern)
_PATTERNS: dict[str, tuple[re.Pattern[str], str]] = {
    "x": (re.compile(r"[A-Za-z0-9_]{1,15}"), "https://x.com/{}"),
    "instagram": (re.compile(r"[A-Za-z0-9_.]{1,30}"), "https://www.instagram.com/{}/"),
    "facebook": (re.compile(r"[A-Za-z0-9.]{5,50}"), "https://www.facebook.com/{}"),
    "youtube": (re.compile(r"[A-Za-z0-9_.-]{3,30}"), "https://www.youtube.com/@{}"),
    "linkedin": (re.compile(r"[A-Za-z0-9-]{2,100}"), "https://www.linkedin.com/company/{}/"),
}
# Mastodon handles name their server: @user@host -> https://host/@user
_MASTODON = re.compile(r"([A-Za-z0-9_]{1,30})@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


def profile_url(platform: str, handle: str | None) -> str | None:
    """The public profile URL for ``handle`` on ``platform``, or None if there is none."""
    if not handle:
        return None
    bare = handle.strip().removeprefix("@")
    if platform == "mastodon":
        m = _MASTODON.fullmatch(bare)
        return f"https://{m.group(2).lower()}/@{quote(m.group(1))}" if m else None
    rule = _PATTERNS.get(platform)
    if rule is None or not rule[0].fullmatch(bare):
        return None
    return rule[1].format(quote(bare))
