"""The fault tests' world: a hub and regional nodes in one process (support.fedkit), a
malicious relay app that serves crafted pages in place of an admitted node, and the
helpers that read what a node stored, quarantined and thinks of its peers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Response
from sqlalchemy import select
from sqlmodel import Session

from federation.keys import SigningKey
from node.app import create_app
from node.db.log import tip as tip_of
from node.db.tables import RECORDS, Peer, Quarantine
from node.settings import NodeSettings
from schemas.geo import Region
from schemas.roster import RosterNode
from support.clock import Clock
from support.factories import member_body
from support.fedkit import Federation, FedNode, call, get_json, settle

PLACES: dict[Region, dict[str, Any]] = {
    Region.NORTH_AMERICA: dict(country="US", city="Rochester", latitude=44.02, longitude=-92.47),
    Region.EUROPE: dict(country="NL", city="Nijmegen", latitude=51.8426, longitude=5.8528),
    Region.ASIA: dict(country="JP", city="Tokyo", latitude=35.6762, longitude=139.6503),
    Region.AFRICA: dict(country="ZA", city="Cape Town", latitude=-33.92, longitude=18.42),
}


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


def body_in(region: Region, name: str) -> dict[str, Any]:
    return member_body(name=name, region=region.value, **PLACES[region])


async def create_member(node: FedNode, name: str) -> dict[str, Any]:
    body = body_in(node.settings.region, name)
    r = await call(node, "POST", "/admin/members", json=body, headers=node.editor)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def update_member(node: FedNode, mid: str, name: str) -> dict[str, Any]:
    body = body_in(node.settings.region, name)
    r = await call(node, "PUT", f"/admin/members/{mid}", json=body, headers=node.editor)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def total(node: FedNode, **filters: Any) -> int:
    return int((await get_json(node, "/members", count="true", **filters))["total"])


async def envelopes(node: FedNode, origin: str | None = None) -> list[dict[str, Any]]:
    page = await get_json(node, "/federation/records", origin=origin or node.node_id)
    records: list[dict[str, Any]] = page["records"]
    return records


async def heads_of(node: FedNode) -> dict[str, tuple[int, int, str, str | None]]:
    heads = await get_json(node, "/federation/heads")
    return {
        h["origin"]: (h["last_seq"], h["count"], h["digest"], h["head"]) for h in heads["origins"]
    }


def engine_of(node: FedNode) -> Any:
    return node.app.state.runtime.engine


def stored(node: FedNode, origin: str) -> list[tuple[int, int, bool, bool]]:
    """(seq, version, current, has body) of every record of ``origin`` the node holds."""
    with Session(engine_of(node)) as session:
        rows = session.execute(
            select(RECORDS.c.seq, RECORDS.c.version, RECORDS.c.current, RECORDS.c.body)
            .where(RECORDS.c.origin == origin)
            .order_by(RECORDS.c.seq)
        ).all()
    return [(r[0], r[1], bool(r[2]), r[3] is not None) for r in rows]


def seqs(node: FedNode, origin: str) -> list[int]:
    return [row[0] for row in stored(node, origin)]


def tip(node: FedNode, origin: str) -> int:
    with Session(engine_of(node)) as session:
        return tip_of(session, origin=origin).seq


def quarantined(node: FedNode) -> list[Quarantine]:
    with Session(engine_of(node)) as session:
        return list(session.execute(select(Quarantine).order_by(Quarantine.id)).scalars())


def peer_state(node: FedNode, peer: str) -> Peer | None:
    with Session(engine_of(node)) as session:
        return session.get(Peer, peer)


def entry(node: FedNode, peer: FedNode) -> RosterNode:
    """The roster entry ``node`` holds for ``peer`` (what its puller pulls from)."""
    trusted: RosterNode = node.sync.trust.current.nodes[peer.node_id]
    return trusted


class Relay:
    """A peer that serves whatever it is told to, behind a real node's roster entry.

    ``logs[origin]`` is served position by position: item ``i`` goes out as if it were
    seq ``i + 1``, whatever it really contains (a gap, a forgery, a malformed object).
    """

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self.logs: dict[str, list[Any]] = {}
        self.status = 200
        self.padding = 0
        self.ignore_after = False  # serve from the start, whatever cursor was asked for
        self.raw_page: str | None = None  # served verbatim by /federation/records
        self.app = FastAPI()
        self.app.get("/federation/heads")(self.heads)
        self.app.get("/federation/records")(self.records)

    def heads(self) -> Response:
        if self.status != 200:
            return Response("internal error", status_code=self.status)
        origins = [
            {
                "origin": o,
                "last_seq": len(items),
                "head": None,
                "count": len(items),
                "digest": "0" * 64,
            }
            for o, items in self.logs.items()
        ]
        payload = {"node": self.node_id, "roster_version": 1, "origins": origins}
        return Response(json.dumps(payload), media_type="application/json")

    def records(self, origin: str, after: int = 0, limit: int = 500) -> Response:
        if self.status != 200:
            return Response("internal error", status_code=self.status)
        if self.raw_page is not None:
            return Response(self.raw_page, media_type="application/json")
        items = self.logs.get(origin, [])
        start = 0 if self.ignore_after else after
        payload = {
            "origin": origin,
            "after": after,
            "last_seq": len(items),
            "records": items[start : start + limit],
            "padding": "x" * self.padding,
        }
        return Response(json.dumps(payload), media_type="application/json")


class World:
    """hub + europe + asia + a relay (admitted as an African node, then replaced)."""

    def __init__(self, fed: Federation) -> None:
        self.fed = fed
        self.hub = fed.add("hub", Region.NORTH_AMERICA, hub=True, name="Mayo Clinic")
        self.eu = fed.add("europe", Region.EUROPE, name="Radboud UMC")
        self.asia = fed.add("asia", Region.ASIA, name="Asia leader")
        self.relay_node = fed.add("relay", Region.AFRICA, name="Africa leader")
        for n in fed.nodes.values():
            n.settings.nudge = False  # the tests decide who pulls when
        self.relay = Relay(self.relay_node.node_id)

    async def start(self) -> None:
        await self.fed.converge(rounds=1)  # the roster everywhere
        version = self.hub.sync.trust.current.version
        assert all(n.sync.trust.current.version == version for n in self.fed.nodes.values())
        self.fed.net.apps[self.relay_node.host] = httpx.ASGITransport(app=self.relay.app)

    @property
    def eu_key(self) -> SigningKey:
        key: SigningKey = self.eu.app.state.runtime.key
        return key

    async def pull_relay(self, victim: FedNode) -> Any:
        return await victim.sync.puller.pull(entry(victim, self.relay_node), force=True)

    async def pull(self, victim: FedNode, peer: FedNode) -> Any:
        return await victim.sync.puller.pull(entry(victim, peer), force=True)


def world_test(
    tmp_path: Path,
    clock: Clock,
    body: Callable[[World], Coroutine[Any, Any, None]],
    urls: Callable[[str], str] | None = None,
) -> None:
    async def scenario() -> None:
        fed = Federation(tmp_path, clock, urls or (lambda h: f"sqlite:///{tmp_path}/{h}.db"))
        try:
            world = World(fed)
            await world.start()
            await body(world)
        finally:
            await settle()
            await fed.close()

    run(scenario())


def restart(w: World, name: str, clock: Clock) -> FedNode:
    """Rebuild a node's app from its (updated) home, as a restart after an operator command."""
    old = w.fed.nodes[name]
    settings = NodeSettings.load(old.settings.home)
    settings.nudge = False
    engine_of(old).dispose()
    app = create_app(settings, clock=clock, http=w.fed.http, schedule=False)
    new = FedNode(old.host, settings, app, old.editor)
    w.fed.nodes[name] = new
    w.fed.net.add(new.host, app)
    if name == "hub":
        w.hub = new
    elif name == "europe":
        w.eu = new
    return new
