"""The FHIR view and the web page report one read-time check (federation.provenance).

A node that the hub suspends stops sending new records, but what it signed while it was
active still verifies: both readers say "verified" and both say the origin is suspended,
and restoring it takes the notice away again.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from support.clock import Clock
from support.factories import member_body
from support.fedkit import Federation
from support.fhir import provenance

from schemas.geo import Region
from schemas.roster import NodeStatus


def test_a_suspended_origins_record_verifies_and_both_views_say_suspended(
    tmp_path: Path, clock: Clock
) -> None:
    async def scenario() -> None:
        fed = Federation(tmp_path, clock, lambda host: f"sqlite:///{tmp_path}/{host}.db")
        try:
            hub = fed.add("hub", Region.NORTH_AMERICA, hub=True, name="Mayo Clinic")
            eu = fed.add("europe", Region.EUROPE, name="Radboud UMC")
            mid = await fed.post(eu, "/admin/members", member_body())
            await fed.converge()

            async def views() -> tuple[dict[str, object], str]:
                async with hub.client() as client:
                    org = (await client.get(f"/fhir/Organization/{mid}")).json()
                    page = await client.get(f"/m/{mid}")
                    assert page.status_code == 200, page.text
                return provenance(org), page.text

            prov, html = await views()
            assert prov["signature"] == "verified"
            assert "originStatus" not in prov  # active: nothing to say
            assert "Signature verified with key" in html
            assert "suspended" not in html

            fed.set_status(eu, NodeStatus.SUSPENDED)
            prov, html = await views()
            assert prov["signature"] == "verified"
            assert prov["originStatus"] == "suspended"
            assert "Signature verified with key" in html
            assert "The origin node is suspended in the network's roster" in html

            fed.set_status(eu, NodeStatus.ACTIVE)
            prov, html = await views()
            assert "originStatus" not in prov
            assert "suspended" not in html
        finally:
            await fed.close()

    asyncio.run(scenario())
