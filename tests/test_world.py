"""The worldwide view (/network, /world), the map it draws, and the nearest-node pages."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from sqlmodel import Session
from support.clock import Clock
from support.factories import event_body, member_body
from support.fedkit import Federation, FedNode, settle
from support.nodes import Node

from node import operator
from node.db.engine import writer
from node.db.tables import Quarantine
from node.web import places, worldmap
from schemas.geo import Region
from schemas.roster import NodeStatus

# --- the map (pure) ------------------------------------------------------------------------


def _topology(*rings: list[tuple[float, float]]) -> dict[str, Any]:
    """A TopoJSON with one arc per ring and unit quantisation (scale 1, no offset)."""
    arcs = []
    for ring in rings:
        deltas, last = [], (0.0, 0.0)
        for lon, lat in ring:
            deltas.append([lon - last[0], lat - last[1]])
            last = (lon, lat)
        arcs.append(deltas)
    geometries = [
        {"type": "Polygon", "arcs": [[i]], "id": code, "properties": {"name": name}}
        for i, (code, name) in enumerate([("528", "Netherlands"), ("242", "Fiji")][: len(rings)])
    ]
    return {
        "type": "Topology",
        "transform": {"scale": [1, 1], "translate": [0, 0]},
        "arcs": arcs,
        "objects": {"countries": {"type": "GeometryCollection", "geometries": geometries}},
    }


def _xs(d: str) -> list[float]:
    return [float(x) for x, _ in re.findall(r"([-\d.]+) ([-\d.]+)", d)]


def test_draw_decodes_delta_arcs_and_projects_inside_the_frame() -> None:
    square = [(4, 50), (8, 50), (8, 54), (4, 54), (4, 50)]
    (shape,) = worldmap.draw(_topology(square), lambda code, name: f"{code}:{name}")
    assert (shape.name, shape.code, shape.region) == ("Netherlands", "NL", "528:Netherlands")
    assert shape.d.startswith("M") and shape.d.endswith("Z") and shape.d.count("M") == 1
    x, y = worldmap.point(50, 4, digits=0)
    assert shape.d.startswith(f"M{x:g} {y:g}L")
    assert all(0 <= v <= worldmap.WIDTH for v in _xs(shape.d))


def test_a_ring_across_the_antimeridian_is_drawn_at_both_edges_not_as_a_stripe() -> None:
    square = [(4, 50), (8, 50), (8, 54), (4, 54), (4, 50)]
    fiji = [(177, -17), (-179, -17), (-179, -19), (177, -19), (177, -17)]
    _, shape = worldmap.draw(_topology(square, fiji), lambda code, name: None)
    assert shape.d.count("M") == 2
    xs = _xs(shape.d)
    assert min(xs) < 10 and max(xs) > worldmap.WIDTH - 10  # a piece at each edge ...
    for part in shape.d.split("M")[1:]:  # ... and neither piece spans the map
        part_xs = _xs("M" + part)
        assert max(part_xs) - min(part_xs) < 50


def test_the_shipped_map_colours_countries_by_network_region() -> None:
    shapes = worldmap.world_map()
    by_code = {s.code: s for s in shapes if s.code}
    assert len(shapes) > 150
    expected = {
        "US": "north-america", "NL": "europe", "KE": "africa", "JP": "asia",
        "AU": "oceania", "BR": "south-america",
    }
    assert {c: by_code[c].region for c in expected} == expected
    assert {s.region for s in shapes} >= {r.value for r in Region}
    assert "AQ" not in by_code  # Antarctica is in no region and is cropped away
    assert all(0 <= x <= worldmap.WIDTH for s in shapes for x in _xs(s.d))


def test_region_labels_sit_inside_the_map() -> None:
    for x, y in worldmap.anchors().values():
        assert 0 < x < worldmap.WIDTH and 0 < y < worldmap.HEIGHT


# --- cities (offline) ----------------------------------------------------------------------


def test_cities_match_without_case_or_accents_and_by_country() -> None:
    (sao,) = places.find("sao paulo")[:1]
    assert (sao.name, sao.country) == ("São Paulo", "BR")
    assert places.find("NIJMEGEN")[0].country == "NL"
    rochesters = places.find("Rochester, US")
    assert len(rochesters) >= 2 and {p.country for p in rochesters} == {"US"}
    assert "MN" in {p.admin1 for p in rochesters}
    pops = [p.population for p in places.find("Rochester")]
    assert pops == sorted(pops, reverse=True)
    assert places.find("Nowhereville-sur-Mer") == []


# --- /network and /world on one node (both backends) ---------------------------------------


def test_network_counts_members_and_upcoming_events_per_region(node: Node) -> None:
    c, h = node.client, node.editor
    for name in ("Radboud UMC", "Erasmus MC", "Karolinska"):
        assert c.post("/admin/members", json=member_body(name=name), headers=h).status_code == 201
    gone = c.get("/members", params={"q": "Karolinska"}).json()["items"][0]["id"]
    assert c.delete(f"/admin/members/{gone}", headers=h).status_code == 200
    assert c.post("/admin/events", json=event_body(), headers=h).status_code == 201
    past = event_body(title="Last year", starts_at="2025-03-10T09:00", ends_at="2025-03-10T17:00")
    assert c.post("/admin/events", json=past, headers=h).status_code == 201

    view = c.get("/network").json()
    regions = {r["region"]: r for r in view["regions"]}
    assert list(regions) == [r.value for r in Region]
    assert (regions["europe"]["members"], regions["europe"]["events"]) == (2, 1)
    assert all(r["members"] == r["events"] == 0 for k, r in regions.items() if k != "europe")
    assert (view["members"], view["events"]) == (2, 1)
    me = [n for n in view["nodes"] if n["serving"]]
    assert len(me) == 1 and me[0]["health"] == "self" and me[0]["node_id"] == view["served_by"]

    page = c.get("/world")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    for r in Region:
        assert f'data-region="{r.value}"' in html
    assert html.count("<path ") > 150 and 'src="/static/world.js"' in html
    assert "http://" not in html.split("<body>")[1].replace(node.settings.url, "")
    assert c.get("/static/world.js").status_code == 200
    assert f"{len(Region)} regions, served by 1 node." in " ".join(html.split())


# --- /network across an in-process federation ----------------------------------------------


def _run(coro: Any) -> None:
    asyncio.run(coro)


async def _post(node: FedNode, path: str, body: dict[str, Any]) -> None:
    async with node.client() as client:
        r = await client.post(path, json=body, headers=node.editor)
    assert r.status_code == 201, r.text
    await settle()


async def _view(node: FedNode) -> dict[str, Any]:
    async with node.client() as client:
        r = await client.get("/network")
    assert r.status_code == 200, r.text
    view: dict[str, Any] = r.json()
    view["by_name"] = {n["name"]: n for n in view["nodes"]}
    return view


def test_the_hub_sees_every_node_catch_up_fail_recover_and_raise_alarms(
    tmp_path: Path, clock: Clock
) -> None:
    async def scenario() -> None:
        fed = Federation(tmp_path, clock, lambda host: f"sqlite:///{tmp_path}/{host}.db")
        try:
            hub = fed.add("hub", Region.NORTH_AMERICA, hub=True, name="Mayo Clinic")
            eu = fed.add("europe", Region.EUROPE, name="Radboud UMC")
            asia = fed.add("asia", Region.ASIA, name="Asia leader")
            hub.app.state.runtime.network_view.ttl = 0  # every call builds afresh
            await _post(eu, "/admin/members", member_body(name="Radboud UMC"))
            await _post(eu, "/admin/events", event_body())
            await fed.converge()

            view = await _view(hub)
            assert view["hub"] == hub.node_id and view["served_by"] == hub.node_id
            assert {n: v["health"] for n, v in view["by_name"].items()} == {
                "Mayo Clinic": "self", "Radboud UMC": "in-sync", "Asia leader": "in-sync",
            }
            radboud = view["by_name"]["Radboud UMC"]
            assert (radboud["behind"], radboud["ahead"], radboud["agrees"]) == (0, 0, True)
            assert radboud["last_contact"] is not None and radboud["failures"] == 0
            regions = {r["region"]: r for r in view["regions"]}
            assert regions["europe"]["members"] == 1 and regions["europe"]["events"] == 1
            assert regions["europe"]["node_name"] == "Radboud UMC"
            # No node stands for Africa, Oceania or South America: they have no leader.
            assert view["without_leader"] == ["Africa", "Australia/Oceania", "South America"]

            # Europe goes down; a write on the hub cannot reach it. The hub still holds
            # Europe's last heads, which lack the new record: Europe is one behind.
            fed.net.down.add(eu.host)
            await _post(hub, "/admin/members", member_body(
                name="Mayo Clinic", region="north-america", country="US", city="Rochester",
                latitude=44.02, longitude=-92.47))
            radboud = (await _view(hub))["by_name"]["Radboud UMC"]
            assert (radboud["health"], radboud["behind"], radboud["agrees"]) == (
                "catching-up", 1, False)
            # The next pull fails: unreachable, with the error and the last contact kept.
            clock.advance(seconds=30)
            await hub.sync.puller.sync_all(force=True)
            radboud = (await _view(hub))["by_name"]["Radboud UMC"]
            assert radboud["health"] == "unreachable" and radboud["failures"] == 1
            assert radboud["last_error"] and radboud["seconds_since_contact"] >= 30

            fed.net.down.clear()
            await fed.converge()
            assert (await _view(hub))["by_name"]["Radboud UMC"]["health"] == "in-sync"

            # Evidence of equivocation by Europe turns it into an alarm on the hub's view.
            with Session(writer(hub.app.state.runtime.engine)) as session:
                session.add(Quarantine(
                    at="2026-11-24T12:00:00Z", peer=eu.node_id, origin=eu.node_id, seq=1,
                    reason="equivocation", detail="two headers at seq 1", envelope="{}"))
                session.commit()
            view = await _view(hub)
            radboud = view["by_name"]["Radboud UMC"]
            # Europe sent it and signed it: one record, counted once against Europe.
            assert (radboud["health"], radboud["alarms"], radboud["quarantined"]) == (
                "alarm", 1, 1)
            assert view["alarms"] == 1 and view["quarantined"] == 1
            # A forged record relayed by the hub's peer Asia, claiming Europe: charged to both.
            with Session(writer(hub.app.state.runtime.engine)) as session:
                session.add(Quarantine(
                    at="2026-11-24T12:00:01Z", peer=asia.node_id, origin=eu.node_id, seq=9,
                    reason="bad-signature", detail="forged", envelope="{}"))
                session.commit()
            view = await _view(hub)
            assert view["by_name"]["Radboud UMC"]["quarantined"] == 2
            assert view["by_name"]["Asia leader"]["quarantined"] == 1
            assert (view["quarantined"], view["alarms"]) == (2, 1)

            async with hub.client() as client:
                page = (await client.get("/world")).text
            assert page.count('<tr data-node="') == 3
            assert 'class="h-text-alarm"' in page and "Regions still without a leader" in page

            # The hub suspends Asia: not pulled from any more, shown as inactive; Asia stays
            # its region's leader (suspended), but no active node serves the region.
            operator.set_status(hub.app.state.runtime.engine, hub.settings, asia.node_id,
                                NodeStatus.SUSPENDED, now=clock())
            hub.sync.trust.reload()
            view = await _view(hub)
            assert view["by_name"]["Asia leader"]["health"] == "inactive"
            asia_region = {r["region"]: r for r in view["regions"]}["asia"]
            assert (asia_region["leader"], asia_region["leader_status"]) == (
                "Asia leader", "suspended")
            assert asia_region["node_id"] is None and "Asia" not in view["without_leader"]
        finally:
            await fed.close()

    _run(scenario())


# --- /nearest (the page) -------------------------------------------------------------------


def test_nearest_page_from_a_city_and_from_coordinates(tmp_path: Path, clock: Clock) -> None:
    async def scenario() -> None:
        fed = Federation(tmp_path, clock, lambda host: f"sqlite:///{tmp_path}/{host}.db")
        try:
            fed.add("hub", Region.NORTH_AMERICA, hub=True, name="Mayo Clinic",
                    latitude=44.0225, longitude=-92.4699)
            eu = fed.add("europe", Region.EUROPE, name="Radboud UMC",
                         latitude=51.8426, longitude=5.8528)
            fed.add("asia", Region.ASIA, name="Asia node")  # gives no location
            await fed.converge()
            async with eu.client() as client:
                r = await client.get("/nearest", params={"city": "Rochester, US"})
                assert r.status_code == 200
                assert "Nearest to Rochester, NY, United States" in r.text
                assert 'The nearest directory is <strong>Mayo Clinic</strong>' in r.text
                assert 'id="go-nearest">' in r.text and 'href="http://hub.test/"' in r.text
                ranked = re.findall(r'<li class="[a-z]*" data-node="([^"]+)"', r.text)
                assert [fed.nodes[h].node_id for h in ("hub", "europe", "asia")] == ranked
                assert "location not given" in r.text  # Asia: listed last
                # Other Rochesters are offered, each a link with its coordinates.
                assert "Rochester, MN, United States" in r.text
                r = await client.get("/nearest", params={"city": "nijmegen"})
                assert "You are in the right place" in r.text
                r = await client.get("/nearest", params={"city": "Atlantis-under-the-sea"})
                assert "No city called" in r.text and 'id="verdict"' not in r.text
                r = await client.get("/nearest", params={"lat": "-33.87", "lon": "151.21",
                                                         "place": "Sydney"})
                assert "Nearest to Sydney" in r.text and "Mayo Clinic</strong> (" in r.text
                for bad, field in (({"lat": "north"}, "lat"), ({"lat": "91", "lon": "0"}, "lat"),
                                   ({"lat": "10"}, "lon"), ({"lat": "nan", "lon": "0"}, "lat"),
                                   ({"city": "x" * 101}, "city"),
                                   ({"lat": "1", "lon": "1", "place": "p" * 201}, "place")):
                    r = await client.get("/nearest", params=bad)
                    assert r.status_code == 422 and field in r.text, (bad, r.text)
                    assert r.headers["content-type"].startswith("text/html")
        finally:
            await fed.close()

    _run(scenario())


def test_nearest_page_without_locations_names_no_nearest(node: Node) -> None:
    # A node with no roster cannot rank anything, and says so rather than guessing.
    r = node.client.get("/nearest", params={"city": "Nijmegen"})
    assert r.status_code == 200 and "holds no roster" in r.text
    assert "nearest directory is" not in r.text


def test_the_view_is_built_at_most_once_per_interval(node: Node) -> None:
    runtime = node.app.state.runtime
    ticks = [100.0]
    runtime.monotonic = lambda: ticks[0]
    runtime.network_view.ttl = 2.0
    first = node.client.get("/network").json()
    assert node.client.post("/admin/members", json=member_body(), headers=node.editor)
    assert node.client.get("/network").json() == first  # within the interval: same view
    ticks[0] += 2.0
    assert node.client.get("/network").json()["members"] == first["members"] + 1


def test_every_page_says_which_node_serves_it_and_links_the_chooser(node: Node) -> None:
    for path in ("/", "/e", "/n", "/world", "/nearest"):
        html = node.client.get(path).text
        assert f'id="served-by">{node.settings.name}<' in html, path
        assert 'href="/nearest"' in html and 'href="/world"' in html


def test_network_is_documented_in_openapi(node: Node) -> None:
    spec = node.client.get("/openapi.json").json()
    documented = spec["components"]["schemas"]["NetworkView"]["properties"]
    assert "/network" in spec["paths"]
    assert set(node.client.get("/network").json()) == set(documented)


def test_world_events_page_and_api_count_upcoming_events_alike(node: Node) -> None:
    """"Upcoming" is "not over before today (UTC)" everywhere: an event that ended this
    morning still counts on /world, on the /e page and in the API."""
    c, h = node.client, node.editor
    morning = event_body(title="Breakfast webinar", starts_at="2026-11-24T08:00",
                         ends_at="2026-11-24T09:00")  # over by the test clock's noon
    yesterday = event_body(title="Yesterday", starts_at="2026-11-23T08:00",
                           ends_at="2026-11-23T09:00")
    for body in (event_body(), morning, yesterday):
        assert c.post("/admin/events", json=body, headers=h).status_code == 201
    node.app.state.runtime.network_view.ttl = 0
    europe = {r["region"]: r for r in c.get("/network").json()["regions"]}["europe"]
    api = c.get("/events", params={"region": "europe", "count": True}).json()["total"]
    page = c.get("/e", params={"region": "europe"}).text
    shown = re.search(r'<span class="count">(\d+)</span>', page)
    assert shown is not None
    assert europe["events"] == api == int(shown.group(1)) == 2
    assert "Breakfast webinar" in page and "Yesterday" not in page
