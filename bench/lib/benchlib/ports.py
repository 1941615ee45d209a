"""Free TCP ports on 127.0.0.1, the only interface the benches use."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port the kernel just handed out on 127.0.0.1 (and released): free for a server
    started right after, which is how every bench picks its servers' ports."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
