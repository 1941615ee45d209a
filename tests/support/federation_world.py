"""The federation tests' world: in-process nodes over one ASGI transport (support.fedkit),
with members and events placed in each region, and readers of what a node holds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from node.db.engine import writer
from node.db.log import tip as tip_of
from node.db.tables import RECORDS, Quarantine
from node.sync.ingest import ingest_page
from schemas.geo import Region
from schemas.roster import RosterNode
from support.clock import Clock
from support.factories import event_body, member_body
from support.fedkit import Federation, FedNode, call, get_json, settle

PLACES: dict[Region, dict[str, Any]] = {
    Region.NORTH_AMERICA: dict(
        country="US", city="Rochester", latitude=44.0225, longitude=-92.4699
    ),
    Region.EUROPE: dict(country="NL", city="Nijmegen", latitude=51.8426, longitude=5.8528),
    Region.ASIA: dict(country="JP", city="Tokyo", latitude=35.6762, longitude=139.6503),
    Region.OCEANIA: dict(country="AU", city="Sydney", latitude=-33.8688, longitude=151.2093),
}
ZONES = {
    Region.NORTH_AMERICA: "America/Chicago",
    Region.EUROPE: "Europe/Amsterdam",
    Region.ASIA: "Asia/Tokyo",
    Region.OCEANIA: "Australia/Sydney",
}


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


def sqlite_urls(tmp_path: Path) -> Callable[[str], str]:
    return lambda host: f"sqlite:///{tmp_path}/{host}.db"


def region_of(node: FedNode) -> Region:
    return node.settings.region


def member_in(node: FedNode, name: str, **overrides: Any) -> dict[str, Any]:
    region = region_of(node)
    return member_body(name=name, region=region.value, **{**PLACES[region], **overrides})


def event_in(node: FedNode, title: str) -> dict[str, Any]:
    region = region_of(node)
    place = PLACES[region]
    venue = {k: place[k] for k in ("city", "country", "latitude", "longitude")}
    return event_body(title=title, region=region.value, timezone=ZONES[region], venue=venue)


async def create_member(node: FedNode, name: str, **overrides: Any) -> dict[str, Any]:
    body = member_in(node, name, **overrides)
    r = await call(node, "POST", "/admin/members", json=body, headers=node.editor)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def create_event(node: FedNode, title: str) -> dict[str, Any]:
    r = await call(node, "POST", "/admin/events", json=event_in(node, title), headers=node.editor)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def update_member(node: FedNode, mid: str, name: str) -> dict[str, Any]:
    r = await call(
        node, "PUT", f"/admin/members/{mid}", json=member_in(node, name), headers=node.editor
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def delete_member(node: FedNode, mid: str) -> dict[str, Any]:
    r = await call(node, "DELETE", f"/admin/members/{mid}", headers=node.editor)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def total(node: FedNode, path: str = "/members", **filters: Any) -> int:
    page = await get_json(node, path, count="true", **filters)
    return int(page["total"])


async def heads_of(node: FedNode) -> dict[str, tuple[int, int, str, str | None]]:
    heads = await get_json(node, "/federation/heads")
    assert heads["node"] == node.node_id
    return {
        h["origin"]: (h["last_seq"], h["count"], h["digest"], h["head"]) for h in heads["origins"]
    }


def stored(node: FedNode, origin: str) -> list[tuple[int, int, bool, bool]]:
    """(seq, version, current, has body) of every record of ``origin`` the node holds."""
    with Session(node.app.state.runtime.engine) as session:
        rows = session.execute(
            select(RECORDS.c.seq, RECORDS.c.version, RECORDS.c.current, RECORDS.c.body)
            .where(RECORDS.c.origin == origin)
            .order_by(RECORDS.c.seq)
        ).all()
    return [(r[0], r[1], bool(r[2]), r[3] is not None) for r in rows]


def quarantined(node: FedNode) -> list[Quarantine]:
    with Session(node.app.state.runtime.engine) as session:
        return list(session.execute(select(Quarantine).order_by(Quarantine.id)).scalars())


def peer_entry(node: FedNode, other: FedNode) -> RosterNode:
    """``other`` as ``node``'s roster lists it: what ``node``'s puller pulls."""
    return next(p for p in node.sync.trust.peers() if p.node_id == other.node_id)


def quiet(*nodes: FedNode) -> None:
    """No nudges after writes: the test decides who pulls when."""
    for node in nodes:
        node.settings.nudge = False


async def sync_only(*nodes: FedNode, rounds: int = 3) -> None:
    for _ in range(rounds):
        for node in nodes:
            await node.sync.puller.sync_all(force=True)
    await settle()


def three(tmp_path: Path, clock: Clock, urls: Callable[[str], str] | None = None) -> Federation:
    fed = Federation(tmp_path, clock, urls or sqlite_urls(tmp_path))
    fed.add("hub", Region.NORTH_AMERICA, hub=True, name="Mayo Clinic")
    fed.add("europe", Region.EUROPE, name="Radboud UMC")
    fed.add("asia", Region.ASIA, name="Asia leader")
    return fed


def ingest(node: FedNode, origin: str, records: list[dict[str, Any]], peer: str = "test") -> Any:
    runtime = node.app.state.runtime
    with Session(writer(runtime.engine)) as session:
        result = ingest_page(
            session,
            origin=origin,
            records=records,
            trust=node.sync.trust.current,
            peer=peer,
            now="2026-11-24T12:00:00Z",
        )
        session.commit()
    return result


def tip_of_node(node: FedNode, origin: str) -> tuple[int, str | None]:
    with Session(node.app.state.runtime.engine) as session:
        tip = tip_of(session, origin=origin)
    return tip.seq, tip.head
