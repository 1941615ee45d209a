"""One view of the roster across processes: a roster change stored by another process on
the same database (another worker, `healthnet roster add`, `healthnet sync`) is what this
process trusts and shows at once, not at its next sync round."""

from __future__ import annotations

from pathlib import Path

from support.clock import Clock
from support.federation_world import run, sqlite_urls
from support.fedkit import Federation, call

from node import operator, roster
from node.app import create_app
from schemas.geo import Region


def test_a_roster_change_by_another_process_shows_at_once(tmp_path: Path, clock: Clock) -> None:
    async def scenario() -> None:
        fed = Federation(tmp_path, clock, sqlite_urls(tmp_path))
        hub = fed.add("hub", Region.NORTH_AMERICA, hub=True, name="Mayo Clinic")
        europe = fed.add("europe", Region.EUROPE, name="Radboud UMC", admit=False)
        try:
            status = (await call(hub, "GET", "/federation/status")).json()
            assert status["roster_version"] == 1
            # Another process on the hub's home (here: a second app on the same database,
            # as a second worker or the CLI would be) lists Europe.
            other = create_app(hub.settings, clock=clock, schedule=False)
            entry = roster.self_entry(europe.settings, europe.app.state.runtime.key)
            version = operator.add_node(
                other.state.runtime.engine, hub.settings, entry, now=clock(),
                key=other.state.runtime.key,
            )  # fmt: skip
            assert version == 2
            status = (await call(hub, "GET", "/federation/status")).json()
            assert status["roster_version"] == 2
            assert europe.node_id in {p["node_id"] for p in status["peers"]}
            heads = (await call(hub, "GET", "/federation/heads")).json()
            assert heads["roster_version"] == 2
            page = (await call(hub, "GET", "/n")).text
            assert "Radboud UMC" in page
            other.state.runtime.engine.dispose()
        finally:
            await fed.close()

    run(scenario())
