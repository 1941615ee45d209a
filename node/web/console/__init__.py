"""The leaders' console: ``/admin`` on every node, for the people who run it.

Server-rendered with the public pages' templates and assets (no JavaScript needed, no
CDN), behind a sign-in (``auth``, ``node.signins``). It writes through the same path as
the admin API (``node.writes``), so a record made here is signed, audited and announced
to peers exactly like one posted with a token.
"""
