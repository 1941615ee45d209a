"""The heads each peer showed are the node's, not one process's: with ``serve --workers
N`` only one process pulls on schedule, yet whichever worker answers must show the same
lag and agreement in /federation/status, /metrics and the node page."""

from __future__ import annotations

from pathlib import Path

import httpx
from support.clock import Clock
from support.factories import member_body
from support.federation_world import run, sqlite_urls
from support.fedkit import Federation

from node.app import create_app
from schemas.geo import Region


def test_every_worker_shows_what_the_pulling_one_saw(tmp_path: Path, clock: Clock) -> None:
    async def scenario() -> None:
        fed = Federation(tmp_path, clock, sqlite_urls(tmp_path))
        hub = fed.add("hub", Region.NORTH_AMERICA, hub=True, name="Mayo Clinic")
        europe = fed.add("europe", Region.EUROPE, name="Radboud UMC")
        # A second process on the hub's home (a second worker), which never pulls itself.
        other = create_app(hub.settings, clock=clock, http=fed.http, schedule=False)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=other), base_url="http://hub.test"
        )
        try:
            await fed.post(europe, "/admin/members", member_body(region="europe", country="NL"))
            await fed.post(europe, "/admin/members", member_body(
                name="Radboud UMC", region="europe", country="NL"))  # fmt: skip
            await hub.sync.puller.sync_all(force=True)  # the scheduling worker pulls

            status = (await client.get("/federation/status")).json()
            row = next(p for p in status["peers"] if p["node_id"] == europe.node_id)
            mine = row["origins"][europe.node_id]
            assert mine == {"their_last_seq": 2, "lag": 0, "agrees": True}
            async with hub.client() as pulling:
                theirs = (await pulling.get("/federation/status")).json()
            assert theirs["peers"] == status["peers"]  # the two workers agree

            metrics = (await client.get("/metrics")).text
            assert f'healthnet_sync_lag_records{{origin="{europe.node_id}"}} 0.0' in metrics

            # Europe writes again and the pulling worker pulls: the other one follows.
            await fed.post(europe, "/admin/members", member_body(
                name="Radboud Children's", region="europe", country="NL"))  # fmt: skip
            await hub.sync.puller.sync_all(force=True)
            status = (await client.get("/federation/status")).json()
            row = next(p for p in status["peers"] if p["node_id"] == europe.node_id)
            assert row["origins"][europe.node_id]["their_last_seq"] == 3
            assert row["origins"][europe.node_id]["agrees"] is True
        finally:
            await client.aclose()
            other.state.runtime.engine.dispose()
            await fed.close()

    run(scenario())
