"""The HTML pages (node.web.pages), as create_app mounts them."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session
from support.clock import Clock
from support.factories import add_event, add_member, member_body
from support.fedkit import Federation
from support.nodes import Node, make_node

from node.db.tables import RECORDS
from node.web import pages
from schemas.geo import Region


@pytest.fixture
def web(tmp_path: Path, clock: Clock) -> Iterator[Node]:
    n = make_node(
        tmp_path / "home", f"sqlite:///{tmp_path / 'node.db'}", clock, leader="Radboud UMC NL"
    )
    yield n
    n.client.close()
    n.engine.dispose()




def get_html(node: Node, url: str, status: int = 200, **params: Any) -> str:
    r = node.client.get(url, params=params) if params else node.client.get(url)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("text/html")
    return r.text


def main_of(text: str) -> str:
    return text.split('<main id="main"', 1)[1].split("</main>", 1)[0]


def test_every_page_has_nav_serving_node_and_accessibility_basics(web: Node) -> None:
    mid = add_member(web)
    eid = add_event(web, organizer=mid)
    for url in ("/", f"/m/{mid}", "/e", f"/e/{eid}", "/n"):
        text = get_html(web, url)
        assert '<html lang="en">' in text
        assert 'name="viewport"' in text
        assert "<main" in text and "<nav" in text and "<footer" in text
        for link in ('href="/"', 'href="/e"', 'href="/n"', 'href="/docs"'):
            assert link in text
        assert 'Served by <strong id="served-by">Radboud UMC</strong> (Europe)' in text
        assert "<script" not in text  # no JavaScript at all
    css = web.client.get("/static/style.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


def test_directory_search_counts_links_and_labels(web: Node) -> None:
    mid = add_member(web)
    add_member(web, name="Maastricht UMC+", city="Maastricht", kind="hospital")
    text = get_html(web, "/")
    assert '<span class="count">2</span> members found' in text
    assert f'href="/m/{mid}"' in text
    assert "Nijmegen, Netherlands · Europe · Academic medical centre" in text
    # every form control has a label
    for field in re.findall(r'<(?:input|select) id="([a-z]+)"', text):
        assert f'<label for="{field}">' in text
    assert text.count('<option value="') >= 6 + 7
    text = get_html(web, "/", q="maastricht")
    assert '<span class="count">1</span> member found' in text
    assert "Maastricht UMC+" in text and "Radboud" not in main_of(text)
    text = get_html(web, "/", region="asia")
    assert '<span class="count">0</span> members found' in text
    assert "No members match" in text
    text = get_html(web, "/", kind="hospital", country="nl", language="en", topic="Innovation")
    assert '<span class="count">1</span>' in text


def test_directory_next_page_link(web: Node) -> None:
    for i in range(pages.PAGE_SIZE + 3):
        add_member(web, name=f"Member {i:02d}")
    text = get_html(web, "/", region="europe")
    assert f'<span class="count">{pages.PAGE_SIZE + 3}</span>' in text
    match = re.search(r'<a href="(\?[^"]+)" rel="next">Next page</a>', text)
    assert match is not None
    second = get_html(web, "/" + html.unescape(match.group(1)))
    # The list pages; the map above it shows all 23 (as dot titles), so read the list alone.
    listed = re.findall(r'<a class="name" href="/m/[^"]+">([^<]+)</a>', second)
    assert "Member 22" in listed and "Member 00" not in listed
    assert 'rel="next"' not in second


def test_member_page_social_contact_events_and_verified(web: Node, clock: Clock) -> None:
    mid = add_member(
        web,
        social=[
            {"platform": "x", "handle": "@radboudumc"},
            {"platform": "youtube", "url": "https://www.youtube.com/radboudumc"},
        ],
        contact={"name": "Press office", "email": "press@radboudumc.nl"},
        description="A university medical centre.",
    )
    add_event(web, organizer=mid, title="HSMN Europe Day")
    add_event(
        web,
        organizer=mid,
        title="Past event",
        starts_at="2026-01-10T09:00",
        ends_at="2026-01-10T17:00",
    )
    text = get_html(web, f"/m/{mid}")
    assert "Radboud University Nijmegen Medical Centre" in text
    assert '<a href="https://www.youtube.com/radboudumc" rel="me noopener">' in text
    # A handle alone links to its profile, built from the handle (node/web/social.py).
    assert '<a href="https://x.com/radboudumc" rel="me noopener">@radboudumc</a>' in text
    assert 'href="@radboudumc"' not in text
    assert '<span class="platform">YouTube</span>' in text
    assert 'href="https://www.radboudumc.nl"' in text
    assert 'href="mailto:press@radboudumc.nl"' in text
    assert "patient engagement, innovation" in text
    key_id = web.app.state.runtime.key.key_id
    assert f"Signature verified with key {key_id} of Radboud UMC" in text
    assert web.settings.node_id in text
    assert "HSMN Europe Day" in text and "Past event" not in text


def test_member_page_shows_a_failed_verification(web: Node) -> None:
    mid = add_member(web)
    with Session(web.engine) as session:
        session.execute(
            update(RECORDS).where(RECORDS.c.record_id == mid).values(body='{"name":"Forged"}')
        )
        session.commit()
    text = get_html(web, f"/m/{mid}")
    assert "Signature NOT verified" in text
    assert "Signature verified" not in text


def test_unknown_member_and_event_are_html_404(web: Node) -> None:
    text = get_html(web, "/m/00000000-0000-4000-8000-000000000000", 404)
    assert "No such member" in text
    get_html(web, "/m/not-an-id", 404)
    get_html(web, "/e/00000000-0000-4000-8000-000000000000", 404)


def test_events_grouped_by_month_upcoming_only(web: Node) -> None:
    add_event(web, title="April thing", starts_at="2027-04-02T10:00", ends_at="2027-04-02T12:00")
    add_event(web, title="March thing")
    add_event(web, title="Old thing", starts_at="2026-02-02T10:00", ends_at="2026-02-02T12:00")
    add_event(
        web,
        title="Online session",
        kind="webinar",
        venue=None,
        online_url="https://example.org/w",
        starts_at="2027-03-20T10:00",
        ends_at="2027-03-20T11:00",
    )
    text = get_html(web, "/e")
    assert '<span class="count">3</span> events upcoming' in text
    assert "Old thing" not in text
    march, april = text.index(">March 2027</h2>"), text.index(">April 2027</h2>")
    assert march < text.index("March thing") < text.index("Online session") < april
    assert april < text.index("April thing")
    assert text.count(">March 2027</h2>") == 1
    text = get_html(web, "/e", kind="webinar")
    assert '<span class="count">1</span> event upcoming' in text and "March thing" not in text
    text = get_html(web, "/e", region="asia")
    assert "No upcoming events match" in text


def test_events_next_page_survives_the_clock_moving(web: Node, clock: Clock) -> None:
    for day in range(1, pages.PAGE_SIZE + 3):
        add_event(
            web,
            title=f"Day {day:02d}",
            starts_at=f"2027-01-{day:02d}T10:00",
            ends_at=f"2027-01-{day:02d}T12:00",
        )
    text = get_html(web, "/e")
    assert f'<span class="count">{pages.PAGE_SIZE + 2}</span>' in text
    match = re.search(r'<a href="(\?[^"]+)" rel="next">Next page</a>', text)
    assert match is not None
    clock.advance(seconds=90)
    second = get_html(web, "/e" + html.unescape(match.group(1)))
    assert "Day 21" in second and "Day 22" in second and "Day 01" not in second
    get_html(web, "/e", 422, **{"from": "yesterday"})


def test_event_page_times_links_and_cancelled(web: Node) -> None:
    mid = add_member(web)
    eid = add_event(
        web,
        organizer=mid,
        online_url="https://example.org/live",
        registration_url="https://example.org/register",
        status="cancelled",
    )
    text = get_html(web, f"/e/{eid}")
    assert "Wed 10 March 2027, 09:00" in text and "Europe/Amsterdam" in text
    assert "<dd>Nijmegen, Netherlands</dd>" in text  # the country by name, not its code
    assert "10 March 2027, 08:00 UTC" in text
    assert f'<a href="/m/{mid}">Radboud University Nijmegen Medical Centre</a>' in text
    assert 'href="https://example.org/register"' in text
    assert 'href="https://example.org/live"' in text
    assert "CANCELLED" in text
    assert "CANCELLED" in get_html(web, "/e")
    # A title in another language than the page's says so, for screen readers and search.
    dutch = add_event(web, title="Zorg en sociale media", language="nl")
    text = get_html(web, f"/e/{dutch}")
    assert '<h1 lang="nl">Zorg en sociale media</h1>' in text and "in Dutch" in text
    assert 'lang="nl">Zorg en sociale media</a>' in get_html(web, "/e")


def test_node_page(web: Node) -> None:
    text = get_html(web, "/n")
    assert "Europe" in text and "Radboud UMC NL" in text
    assert web.settings.node_id in text
    assert web.app.state.runtime.key.public_b64 in text
    assert "Quarantined records" in text and "No alarms." in text
    assert "No peers" in text


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/", {"region": "mars"}),
        ("/", {"kind": "spaceship"}),
        ("/", {"country": "Neverland"}),
        ("/", {"q": "x" * 500}),
        ("/", {"cursor": "garbage!!"}),
        ("/", {"cursor": "W10"}),
        ("/e", {"kind": "party"}),
        ("/e", {"region": "<b>"}),
        ("/e", {"cursor": "%%%"}),
        ("/e", {"q": "y" * 201}),
    ],
)
def test_bad_query_parameters_give_an_html_422(web: Node, url: str, params: dict[str, str]) -> None:
    text = get_html(web, url, 422, **params)
    assert "Please correct this and search again" in text
    assert "<b>" not in main_of(text)


def test_a_bad_search_names_every_problem_and_keeps_the_form(web: Node) -> None:
    add_member(web)
    text = main_of(get_html(web, "/", 422, q="radboud", kind="spaceship", country="Neverland"))
    assert "Please correct these and search again" in text
    assert "<strong>kind</strong>" in text and "<strong>country</strong>" in text
    assert 'value="radboud"' in text and 'value="Neverland"' in text  # as typed
    assert 'id="country" name="country"' in text and 'aria-invalid="true"' in text
    assert 'class="name"' not in text  # no results beside the errors


def test_names_work_where_codes_do_and_topics_are_suggested(web: Node) -> None:
    mid = add_member(web, topics=["patient safety", "digital health"])
    for params in ({"country": "Netherlands"}, {"language": "Dutch"}, {"language": "nl"}):
        assert f'href="/m/{mid}"' in get_html(web, "/", **params), params
    text = get_html(web, "/", topic="patient")
    assert f'href="/m/{mid}"' not in text
    assert '<a href="/?topic=patient%20safety">patient safety</a>' in text
    assert '<option value="digital health">' in text  # the datalist of topics in use


def test_events_filter_by_dates_topic_and_language(web: Node) -> None:
    march = add_event(web, title="March thing", topics=["telehealth"], language="nl")
    april = add_event(
        web, title="April thing", starts_at="2027-04-02T10:00", ends_at="2027-04-02T12:00"
    )
    only = {"to": "2027-03-31"}, {"from": "2027-04-01"}, {"topic": "telehealth"}, {"language": "nl"}
    expect = [march, april, march, march]
    for params, eid in zip(only, expect, strict=True):
        text = get_html(web, "/e", **params)
        assert f'href="/e/{eid}"' in text, params
        other = april if eid == march else march
        assert f'href="/e/{other}"' not in text, params
    assert "<strong>to</strong>" in get_html(web, "/e", 422, to="31/03/2027")


def test_events_filter_by_how_one_takes_part(web: Node) -> None:
    hall = add_event(web, title="In the hall")
    stream = add_event(web, title="Streamed", venue=None, online_url="https://example.org/l")
    both = add_event(web, title="Hybrid", online_url="https://example.org/h")
    ways = (("online", {stream, both}, hall), ("in_person", {hall, both}, stream))
    for way, found, hidden in ways:
        text = get_html(web, "/e", attendance=way)
        assert all(f'href="/e/{eid}"' in text for eid in found), way
        assert f'href="/e/{hidden}"' not in text, way
        assert f'<option value="{way}" selected>' in text  # the choice stays shown
    assert "<strong>attendance</strong>" in get_html(web, "/e", 422, attendance="zoom")


def test_nul_in_the_query_is_refused_before_the_pages(web: Node) -> None:
    # The app's own middleware refuses NUL in any query string (a JSON problem, as for the
    # API); the point here is that it is a 422, never a 500.
    assert web.client.get("/e", params={"cursor": "\x00"}).status_code == 422


def test_a_cursor_from_another_query_is_422_not_500(web: Node) -> None:
    for i in range(pages.PAGE_SIZE + 1):
        add_member(web, name=f"Member {i:02d}")
    match = re.search(r'cursor=([^"&]+)', get_html(web, "/"))
    assert match is not None
    get_html(web, "/", 422, region="europe", cursor=html.unescape(match.group(1)))


def test_user_content_is_escaped(web: Node) -> None:
    mid = add_member(web, name="<script>alert(1)</script>", description="<img src=x>")
    for text in (get_html(web, "/"), get_html(web, f"/m/{mid}")):
        assert "<script>" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<img src=x>" not in get_html(web, f"/m/{mid}")
    eid = add_event(web, title="<script>x</script>", organizer=mid)
    text = get_html(web, f"/e/{eid}")
    assert "<script>" not in text and "&lt;script&gt;x&lt;/script&gt;" in text


def test_api_routes_are_unchanged(web: Node) -> None:
    assert web.client.get("/node").headers["content-type"].startswith("application/json")
    assert web.client.get("/members").status_code == 200
    paths = web.app.openapi()["paths"]
    assert "/" not in paths and "/m/{member_id}" not in paths


def test_federated_member_verifies_with_the_origin_key_and_peers_show(
    tmp_path: Path, clock: Clock
) -> None:
    """A Europe member, pulled by the hub, verifies on the hub's page against the roster key
    of Radboud UMC; the hub's node page lists Europe as a healthy peer."""

    async def scenario() -> None:
        fed = Federation(tmp_path, clock, lambda host: f"sqlite:///{tmp_path}/{host}.db")
        try:
            hub = fed.add("hub", Region.NORTH_AMERICA, hub=True, name="Mayo Clinic")
            europe = fed.add("europe", Region.EUROPE, name="Radboud UMC")
            for node in (hub, europe):
                node.settings.nudge = False
            async with europe.client() as client:
                r = await client.post("/admin/members", json=member_body(), headers=europe.editor)
                assert r.status_code == 201, r.text
                mid = r.json()["id"]
            await fed.converge()
            async with hub.client() as client:
                page = await client.get(f"/m/{mid}")
                node_page = await client.get("/n")
            assert page.status_code == 200
            served = 'Served by <strong id="served-by">Mayo Clinic</strong> (North America)'
            assert served in page.text
            key_id = europe.app.state.runtime.key.key_id
            assert f"Signature verified with key {key_id} of Radboud UMC" in page.text
            assert europe.node_id in page.text
            assert node_page.status_code == 200
            assert "Radboud UMC" in node_page.text and "healthy" in node_page.text
            assert "unhealthy" not in node_page.text
        finally:
            await fed.close()

    asyncio.run(scenario())
