"""The directory's map: the framing and the land image (pure), the shared land route, and
the dots the directory page draws for a search (on both backends: the dots reuse the
search's own filters, text search included)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from support.factories import add_member
from support.nodes import Node

from node.db import pins
from node.web import pages, worldmap

W, H = worldmap.WIDTH, worldmap.HEIGHT
SVG = "{http://www.w3.org/2000/svg}"


# --- framing and the land image (pure) ---------------------------------------------------


def _inside(box: worldmap.Box, point: worldmap.Point) -> bool:
    x, y, w, h = box
    return x <= point[0] <= x + w and y <= point[1] <= y + h


def test_no_points_frame_the_world() -> None:
    assert worldmap.frame([]) == (0.0, 0.0, W, H)


def test_one_city_is_framed_in_its_surroundings_at_the_minimum_width() -> None:
    nijmegen = worldmap.point(51.84, 5.85)
    box = worldmap.frame([nijmegen], min_width=160)
    assert box[2] == 160 and box[3] == pytest.approx(160 * H / W, abs=0.1)
    assert _inside(box, nijmegen)
    # centred on it, as far as the edges allow
    assert box[0] + box[2] / 2 == pytest.approx(nijmegen[0], abs=0.1)


@pytest.mark.parametrize(
    "places",
    [
        [(51.84, 5.85), (47.6, -122.3)],  # Nijmegen and Seattle
        [(-33.9, 151.2), (-36.8, 174.8)],  # Sydney and Auckland, by the eastern edge
        [(64.1, -21.9), (-54.8, -68.3)],  # Reykjavik and Ushuaia: tall, not wide
        [(0.0, -179.9), (0.0, 179.9)],  # both edges of the map
    ],
)
def test_every_point_is_inside_a_frame_in_the_maps_proportions_and_edges(
    places: list[tuple[float, float]],
) -> None:
    points = [worldmap.point(lat, lon) for lat, lon in places]
    x, y, w, h = box = worldmap.frame(points)
    assert all(_inside(box, p) for p in points)
    assert w / h == pytest.approx(W / H, rel=0.01)
    assert x >= 0 and y >= 0 and x + w <= W + 0.1 and y + h <= H + 0.1


def test_a_wider_spread_gets_a_wider_frame() -> None:
    europe = [worldmap.point(51.84, 5.85), worldmap.point(48.1, 11.6)]
    transatlantic = [*europe, worldmap.point(44.0, -92.5)]
    assert worldmap.frame(europe)[2] < worldmap.frame(transatlantic)[2]


def test_the_land_image_is_a_standalone_svg_of_every_country_without_script() -> None:
    shapes = worldmap.world_map()
    document = worldmap.land_svg(shapes)
    root = ET.fromstring(document)
    assert root.tag == f"{SVG}svg" and root.get("viewBox") == f"0 0 {W:g} {H:g}"
    paths = root.findall(f".//{SVG}path")
    assert len(paths) == sum(1 for s in shapes if s.d)
    assert "<script" not in document and "style=" not in document and "href" not in document


def test_a_shape_name_cannot_break_out_of_the_land_image() -> None:
    shape = worldmap.Shape(name="<x>", code=None, region=None, d='M0 0L1 1Z"/><script/>')
    document = worldmap.land_svg([shape])
    assert "<script" not in document
    assert ET.fromstring(document).find(f".//{SVG}path") is not None


# --- the land route ------------------------------------------------------------------------


def test_the_land_is_one_cacheable_image_revalidated_by_etag(node: Node) -> None:
    r = node.client.get("/map/land.svg")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert "max-age=86400" in r.headers["cache-control"]
    assert ET.fromstring(r.content).tag == f"{SVG}svg"
    again = node.client.get("/map/land.svg", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    other = node.client.get("/map/land.svg", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200 and other.content == r.content


# --- the directory's dots ------------------------------------------------------------------


def _dots(text: str) -> list[str]:
    """The member ids the map links to, in order."""
    figure = re.search(r'<figure class="map members-map">.*?</figure>', text, re.S)
    return (
        re.findall(r'<a href="/m/([^"]+)" tabindex="-1"><circle class="pin"', figure[0])
        if figure
        else []
    )


def _view_box(text: str) -> tuple[float, ...]:
    match = re.search(
        r'<svg viewBox="([^"]+)" role="img" aria-labelledby="members-map-title"', text
    )
    assert match is not None
    return tuple(float(v) for v in match.group(1).split())


def _page(node: Node, **params: str) -> str:
    r = node.client.get("/", params=params)
    assert r.status_code == 200, r.text
    return r.text


def test_the_map_shows_every_match_with_a_place_not_only_the_page(node: Node) -> None:

    ids = {add_member(node, name=f"Member {i:02d}") for i in range(pages.PAGE_SIZE + 2)}
    nowhere = add_member(node, name="Member without a place", latitude=None, longitude=None)
    text = _page(node)
    assert set(_dots(text)) == ids  # every placed match, beyond the first page of the list
    assert nowhere not in _dots(text)
    assert "22 of the 23 members found are on the map" in text
    assert "the others give no coordinates" in text
    assert '<image href="/map/land.svg"' in text


def test_the_map_follows_the_search_and_frames_what_it_finds(node: Node) -> None:
    nijmegen = add_member(node, name="Radboud UMC")
    munich = add_member(
        node, name="LMU Klinikum", country="DE", city="Munich", latitude=48.11, longitude=11.47
    )
    reykjavik = add_member(
        node, name="Landspitali", country="IS", city="Reykjavik", latitude=64.14, longitude=-21.9
    )
    moscow = add_member(
        node,
        name="Sechenov University",
        country="RU",
        city="Moscow",
        latitude=55.76,
        longitude=37.62,
        languages=["ru"],
    )
    everyone = _page(node)
    assert set(_dots(everyone)) == {nijmegen, munich, reykjavik, moscow}
    assert set(_dots(_page(node, language="nl"))) == {nijmegen, munich, reykjavik}
    germany = _page(node, country="DE")
    assert _dots(germany) == [munich]
    assert _dots(_page(node, q="landspitali")) == [reykjavik]
    assert "Landspitali, Reykjavik</title>" in _page(node, q="landspitali")
    # framed on the dots: one country's search is drawn closer than all four
    assert _view_box(germany)[2] < _view_box(everyone)[2] < worldmap.WIDTH


def test_no_matches_no_map(node: Node) -> None:
    add_member(node)
    text = _page(node, region="asia")
    assert "members-map" not in text and "/map/land.svg" not in text


def test_a_search_beyond_the_dot_limit_says_how_many_are_drawn(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pins, "LIMIT", 2)
    for name in ("Alpha", "Bravo", "Charlie"):
        add_member(node, name=name)
    text = _page(node)
    assert len(_dots(text)) == 2
    assert "3 of the 3 members found are on the map (the first 2 by name)." in text


def test_member_names_in_the_map_are_escaped(node: Node) -> None:
    add_member(node, name="<script>alert(1)</script>")
    text = _page(node)
    assert (
        "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;, Nijmegen</title>" in text
    )


def test_counts_past_the_cap_say_more_than_and_read_no_further(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The directory counts as the API does (``count_cap``): past the cap the list and the
    map say "more than", so a common word at a million members reads 10,001 entries, not
    every match."""
    monkeypatch.setattr(pins, "LIMIT", 2)
    monkeypatch.setattr(pins, "COUNT_CAP", 3)
    monkeypatch.setattr(pages, "COUNT_CAP", 3)
    for name in ("Alpha", "Bravo", "Charlie", "Delta", "Echo"):
        add_member(node, name=f"{name} Health")
    text = _page(node, q="health")
    assert '<span class="count">more than 3</span> members found' in text
    assert "More than 3 of the members found are on the map (the first 2 by name)." in text
    assert "of more than 3" in text  # the pager
    assert len(_dots(text)) == 2
    monkeypatch.setattr(pages, "COUNT_CAP", 10)
    monkeypatch.setattr(pins, "COUNT_CAP", 10)
    text = _page(node, q="health")
    assert '<span class="count">5</span> members found' in text
    assert "5 of the 5 members found are on the map (the first 2 by name)." in text
