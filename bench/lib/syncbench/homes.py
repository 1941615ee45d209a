"""The node homes of the sync bench: one per ``healthnet`` node, with its port and keys.

Homes are made with ``healthnet init`` (as an operator would), each node's server runs
on its own free 127.0.0.1 port, and the identity (node id, public key) is read back from
the home so that the hub can admit the node with ``healthnet roster add``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from benchlib.app import NodeSettings, load_key
from benchlib.processes import base_env
from benchlib.servers import Server, Servers


@dataclass
class NodeHome:
    label: str
    home: Path
    port: int
    node_id: str = ""
    public_key: str = ""
    token: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def to_json(self) -> dict[str, Any]:
        """What the profile child needs to find the node again (not its token)."""
        return {
            "label": self.label,
            "home": str(self.home),
            "port": self.port,
            "node_id": self.node_id,
            "public_key": self.public_key,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NodeHome:
        return cls(**{**data, "home": Path(data["home"])})


def init_args(n: NodeHome, region: str, *, hub: NodeHome | None, name: str) -> list[str]:
    """``healthnet init`` arguments: a hub, or a regional node that pins ``hub``."""
    args = ["init", str(n.home), "--name", name, "--region", region, "--url", n.url]
    if hub is None:
        args.append("--hub")
    else:
        args += ["--hub-url", hub.url, "--hub-key", hub.public_key]
    return args


def read_identity(n: NodeHome) -> None:
    settings = NodeSettings.load(n.home)
    n.node_id = settings.node_id
    n.public_key = load_key(settings).public_b64


def serve(servers: Servers, n: NodeHome, **env: str) -> Server:
    """``healthnet serve`` for this home, logging warnings only; ``env`` as HEALTHNET_*."""
    return servers.start(n.label, n.home, n.port, base_env(LOG_LEVEL="warning", **env))


def heads_of(http: httpx.Client, url: str) -> dict[str, dict[str, Any]]:
    """A node's ``/federation/heads``, by origin."""
    data = http.get(url + "/federation/heads").json()
    return {o["origin"]: o for o in data["origins"]}
