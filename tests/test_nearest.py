"""GET /nodes/nearest: the roster's active nodes by distance, on every node."""

from __future__ import annotations

import asyncio
from pathlib import Path

from support.clock import Clock
from support.fedkit import Federation

from schemas.geo import Region, haversine_km


def test_nearest_orders_active_nodes_by_distance(tmp_path: Path, clock: Clock) -> None:
    async def body() -> None:
        fed = Federation(tmp_path, clock, lambda host: f"sqlite:///{tmp_path}/{host}.db")
        try:
            hub = fed.add("hub", Region.NORTH_AMERICA, hub=True)
            fed.add("europe", Region.EUROPE)
            fed.add("asia", Region.ASIA)
            await fed.converge()
            # Coordinates come from each node's roster entry: re-admit europe with a location.
            europe_node = fed.nodes["europe"]
            europe_node.settings.latitude, europe_node.settings.longitude = 51.84, 5.85
            fed.admit(europe_node)
            await fed.converge()
            async with europe_node.client() as c:
                r = await c.get("/nodes/nearest", params={"lat": 52.37, "lon": 4.89})
            assert r.status_code == 200, r.text
            names = [n["name"] for n in r.json()]
            assert names[0] == "europe"  # Amsterdam is nearest to Nijmegen
            europe = r.json()[0]
            assert europe["serving"] is True
            assert abs(europe["distance_km"] - haversine_km(52.37, 4.89, 51.84, 5.85)) < 0.1
            assert r.json()[-1]["distance_km"] is None  # a node without a location comes last
            async with hub.client() as c:
                bad = await c.get("/nodes/nearest", params={"lat": 91, "lon": 0})
            assert bad.status_code == 422
            assert bad.json()["errors"][0]["field"] == "query.lat"
        finally:
            await fed.close()

    asyncio.run(body())
