"""In-process federations: several node apps in one process, talking over ASGITransport.

``Net`` is an httpx transport that routes by host name to each node's app, and can take a
node "down" (connection refused) to simulate partitions. No sockets are opened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import Session

from federation.roster import with_node, with_status
from node import roster, tokens
from node.app import create_app
from node.db.engine import writer
from node.home import init_home
from node.settings import NodeSettings
from node.sync import Sync
from schemas.geo import Region
from schemas.roster import NodeStatus, RosterBody

from .clock import Clock


async def settle() -> None:
    """Let background pulls started by nudges finish, so every test is deterministic."""
    for _ in range(20):
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if not tasks:
            return
        await asyncio.gather(*tasks, return_exceptions=True)


class Net(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}
        self.down: set[str] = set()
        self.requests: list[str] = []

    def add(self, host: str, app: FastAPI) -> None:
        self.apps[host] = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.requests.append(f"{request.method} {host}{request.url.path}")
        if host in self.down or host not in self.apps:
            raise httpx.ConnectError(f"{host} is down", request=request)
        return await self.apps[host].handle_async_request(request)


@dataclass
class FedNode:
    host: str
    settings: NodeSettings
    app: FastAPI
    editor: dict[str, str]

    @property
    def sync(self) -> Sync:
        sync: Sync = self.app.state.sync
        return sync

    @property
    def node_id(self) -> str:
        return self.settings.node_id

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=f"http://{self.host}"
        )


async def call(node: FedNode, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request to a node; then let the pulls its nudges started finish."""
    async with node.client() as client:
        response = await client.request(method, path, **kwargs)
    await settle()
    return response


async def get_json(node: FedNode, path: str, **params: Any) -> Any:
    r = await call(node, "GET", path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


@dataclass
class Federation:
    root: Path
    clock: Clock
    database_url: Any  # callable(name) -> URL
    net: Net = field(default_factory=Net)
    nodes: dict[str, FedNode] = field(default_factory=dict)
    http: httpx.AsyncClient | None = None

    def __post_init__(self) -> None:
        self.http = httpx.AsyncClient(transport=self.net)

    @property
    def hub(self) -> FedNode:
        return self.nodes["hub"]

    def add(
        self,
        host: str,
        region: Region,
        *,
        hub: bool = False,
        name: str | None = None,
        admit: bool = True,
        **place: object,
    ) -> FedNode:
        """``place``: more ``init_home`` settings (latitude, longitude, placeholder).
        ``admit=False``: the node follows the hub but is not in its roster (it asks to join)."""
        home = self.root / host
        extra: dict[str, object] = (
            {"hub": True, **place}
            if hub
            else {
                "hub_url": "http://hub.test",
                "hub_key": self.hub.app.state.runtime.key.public_b64,
                **place,
            }
        )
        settings = init_home(
            home,
            name=name or host,
            region=region,
            url=f"http://{host}.test",
            database_url=self.database_url(host),
            **extra,
        )
        app = create_app(settings, clock=self.clock, http=self.http, schedule=False)
        with Session(app.state.runtime.engine) as session:
            _, secret = tokens.create_token(
                session, role=tokens.Role.EDITOR, label="t", now=self.clock()
            )
            session.commit()
        node = FedNode(f"{host}.test", settings, app, {"Authorization": f"Bearer {secret}"})
        self.net.add(node.host, app)
        self.nodes[host] = node
        if not hub and admit:
            self.admit(node)
        return node

    def admit(self, node: FedNode) -> None:
        """The hub operator adds the node to the roster (what `healthnet roster add` does)."""
        entry = roster.self_entry(node.settings, node.app.state.runtime.key)
        self._edit_roster(lambda body: with_node(body, entry))

    def set_status(self, node: FedNode, status: NodeStatus) -> None:
        """The hub operator suspends, revokes or restores a node (`healthnet roster ...`)."""
        self._edit_roster(lambda body: with_status(body, node.node_id, status))

    def _edit_roster(self, edit: Callable[[RosterBody], RosterBody]) -> None:
        """Publish the hub's next roster version, ``edit`` applied to the current one."""
        hub = self.hub
        runtime = hub.app.state.runtime
        with Session(writer(runtime.engine)) as session:
            body, _ = roster.current(session, hub=hub.node_id)  # type: ignore[misc]
            roster.publish_roster(
                session, settings=hub.settings, key=runtime.key, body=edit(body), now=self.clock()
            )
            session.commit()
        hub.sync.trust.reload()

    async def post(self, node: FedNode, path: str, body: dict[str, Any]) -> str:
        """An editor's write on ``node``; the new record's id."""
        async with node.client() as client:
            r = await client.post(path, json=body, headers=node.editor)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def sync_round(self) -> None:
        for node in self.nodes.values():
            await node.sync.puller.sync_all(force=True)

    async def converge(self, rounds: int = 4) -> None:
        for _ in range(rounds):
            await self.sync_round()

    async def close(self) -> None:
        assert self.http is not None
        await self.http.aclose()
        for node in self.nodes.values():
            node.app.state.runtime.engine.dispose()
