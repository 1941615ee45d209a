"""The web pages in a real browser: Debian's chromium, driven by Playwright, against the six
real node processes of `healthnet demo` (tests/support/browser.py: the browser, the
checks every page gets, screenshots)."""

from __future__ import annotations

import re
import subprocess
import sys
from urllib.parse import urljoin

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect
from support.browser import shot
from support.demo import Demo

pytestmark = pytest.mark.slow


def test_search_and_filter_the_directory(demo: Demo, page: Page) -> None:
    page.goto(demo.hub + "/")
    expect(page.locator("#served-by")).to_have_text("Mayo Clinic")
    everyone = page.locator("ul.results > li")
    expect(everyone.first).to_be_visible()
    page.get_by_label("Region").select_option("europe")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"region=europe"))
    names = page.locator("ul.results .name").all_inner_texts()
    assert names and any("Radboud" in n for n in names)
    total_europe = len(names)
    # The result count matches the list (the sample has fewer than a page per region).
    expect(page.locator("#results .count")).to_have_text(str(total_europe))
    # Full text narrows further, whatever the case and accents.
    page.get_by_label("Search", exact=True).fill("radboud")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("ul.results .name")).to_have_count(1)
    expect(page.locator("ul.results .name").first).to_contain_text("Radboud")
    assert total_europe >= 2
    shot(page, "directory-search")


def test_open_a_member_and_follow_to_its_events(demo: Demo, page: Page) -> None:
    # On the Europe node, open Radboud UMC: its record came from Europe's own node.
    page.goto(demo.urls["europe"] + "/?q=Radboud")
    page.locator("ul.results a.name").first.click()
    expect(page.locator("h1")).to_contain_text("Radboud")
    expect(page.locator(".notice.good")).to_contain_text("Signature verified with key")
    social = page.locator("a[href^='https://']")
    assert social.count() >= 1
    shot(page, "member")
    events = page.locator("a[href^='/e/']")
    assert events.count() >= 1, "the member page lists the member's events"
    title = events.first.inner_text()
    events.first.click()
    expect(page.locator("h1")).to_have_text(title)
    expect(page.get_by_text("Radboud", exact=False).first).to_be_visible()
    shot(page, "event")
    page.goto(demo.urls["europe"] + "/e")
    expect(page.locator("h2").first).to_be_visible()  # grouped by month
    shot(page, "events")


def test_world_view_shows_six_regions_and_every_nodes_health_live(
    demo: Demo, page: Page
) -> None:
    page.goto(demo.hub + "/world")
    regions = page.locator("table.regions tbody tr")
    expect(regions).to_have_count(6)
    labels = regions.locator("th").all_inner_texts()
    assert labels == [
        "North America", "Europe", "Africa", "Asia", "Australia/Oceania", "South America",
    ]
    for row in regions.all():
        assert int(row.locator('[data-field="members"]').inner_text()) >= 1
    expect(page.locator("#without-leader")).to_contain_text(
        "Africa, Asia, Australia/Oceania, South America"
    )
    health = page.locator("table.health tbody tr")
    expect(health).to_have_count(6)
    # Every peer the hub pulls from is in sync with it; the hub itself is "self".
    for row in health.all():
        expect(row.locator('[data-field="health"]')).to_have_text(re.compile(r"^(self|in-sync)$"))
    expect(page.locator("svg circle.node")).to_have_count(6)
    expect(page.locator("svg path").first).to_be_visible()
    # The page refreshes itself: the live line changes without a reload.
    page.evaluate("window.__same_page = true")
    expect(page.locator("[data-live]")).to_contain_text("Live: updated", timeout=15_000)
    first = page.locator("#network").get_attribute("data-updated")
    assert first
    # (A locator wait, not wait_for_function: that one evals a string, which the node's
    # Content-Security-Policy rightly refuses.)
    expect(page.locator("#network")).not_to_have_attribute("data-updated", first, timeout=20_000)
    assert page.evaluate("window.__same_page") is True
    shot(page, "world")


def test_world_view_counts_a_new_member_without_reloading(demo: Demo, page: Page) -> None:
    """A member written on Oceania's node reaches the hub by sync, and the hub's open world
    view shows the new count by itself."""
    page.goto(demo.hub + "/world")
    cell = page.locator('table.regions tr[data-region="oceania"] [data-field="members"]')
    before = int(cell.inner_text())
    page.evaluate("window.__same_page = true")
    token = subprocess.run(
        [sys.executable, "-m", "node.cli", "token", "create", str(demo.data / "oceania")],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()
    body = {
        "name": "Royal Darwin Hospital", "kind": "hospital", "region": "oceania",
        "country": "AU", "city": "Darwin", "latitude": -12.35, "longitude": 130.88,
    }
    r = httpx.post(demo.urls["oceania"] + "/admin/members", json=body,
                   headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 201, r.text
    expect(cell).to_have_text(str(before + 1), timeout=30_000)
    assert page.evaluate("window.__same_page") is True


def test_choose_the_nearest_node_from_a_city(demo: Demo, page: Page) -> None:
    page.goto(demo.urls["asia"] + "/")
    page.get_by_role("link", name="Find your nearest node").click()
    page.get_by_label("Your city").fill("Nijmegen")
    page.get_by_role("button", name="Find", exact=True).click()
    expect(page.locator("#verdict")).to_contain_text("Radboud University Nijmegen Medical Centre")
    shot(page, "nearest")
    page.locator("#go-nearest").click()
    expect(page.locator("#served-by")).to_have_text("Radboud University Nijmegen Medical Centre")
    assert page.url.startswith(demo.urls["europe"])


def test_choose_the_nearest_node_from_the_browsers_location(
    demo: Demo, browser: Browser
) -> None:
    # The person consents (the permission is granted) and stands in Sydney.
    context = browser.new_context(
        geolocation={"latitude": -33.87, "longitude": 151.21}, permissions=["geolocation"]
    )
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(demo.urls["europe"] + "/nearest")
        requests: list[Request] = []
        page.on("request", lambda r: requests.append(r))
        page.get_by_role("button", name="Use my location").click()
        expect(page.locator("#verdict")).to_contain_text("Australia/Oceania community node")
        expect(page.locator("ol.ranked li").first).to_contain_text("Australia/Oceania")
        assert any("lat=-33.87" in r.url for r in requests)
        shot(page, "nearest-location")
    finally:
        context.close()


def test_world_view_and_directory_on_a_phone(demo: Demo, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  device_scale_factor=2)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        for path, name in (
            ("/world", "world-phone"),
            ("/", "directory-phone"),
            ("/e", "events-phone"),
            ("/n", "node-phone"),
        ):
            page.goto(demo.hub + path)
            # Nothing is wider than the screen except inside the scrolling tables.
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 1, f"{path} scrolls sideways by {overflow}px"
            shot(page, name)
            if path in ("/world", "/n"):
                # A table wider than the phone says that it scrolls sideways.
                cue = page.evaluate(
                    "getComputedStyle(document.querySelector('.scroll'), '::before').content"
                )
                assert "sideways" in cue, cue
        page.goto(demo.hub + "/world")
        label = page.locator('.region-label[data-region="europe"] .name')
        # The map is scaled to about 40% on a phone: its labels must still be readable.
        assert label.bounding_box() is not None and label.bounding_box()["height"] >= 9
    finally:
        context.close()


def test_api_docs_render_offline_under_the_strict_policy(demo: Demo, page: Page) -> None:
    """/docs draws the OpenAPI 3.1 description from shipped assets alone."""
    page.goto(demo.hub + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("healthnet")
    expect(page.locator(".swagger-ui .opblock-summary-path").first).to_be_visible()
    assert page.locator(".swagger-ui .errors-wrapper").count() == 0
    shot(page, "docs")


def test_directory_map_shows_the_members_found(demo: Demo, page: Page) -> None:
    """The directory's map draws a dot for each member found that gives a place, over the
    node's own land (/map/land.svg, allowed by the page's policy), framed on the dots."""
    land: list[int] = []
    page.on(
        "response", lambda r: land.append(r.status) if r.url.endswith("/map/land.svg") else None
    )
    page.goto(demo.hub + "/")
    world_box = page.locator(".members-map svg").get_attribute("viewBox")
    dots = page.locator(".members-map circle.pin")
    expect(dots.first).to_be_visible()
    every = dots.count()
    page.get_by_label("Region").select_option("europe")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"region=europe"))
    listed = page.locator("ul.results .name").all_inner_texts()
    titles = page.locator(".members-map circle.pin title").all_text_contents()
    assert 1 <= len(titles) <= len(listed) and len(titles) < every
    # Each dot names one of the members listed beside it.
    assert all(any(t.startswith(name) for name in listed) for t in titles), (titles, listed)
    expect(page.locator(".members-map figcaption")).to_contain_text(f"{len(titles)} of the")
    # Framed on Europe: the view is narrower than the whole-directory one.
    europe_box = page.locator(".members-map svg").get_attribute("viewBox")
    assert world_box and europe_box
    assert float(europe_box.split()[2]) < float(world_box.split()[2])
    assert land and set(land) <= {200, 304}, land
    image = page.locator(".members-map image")
    # The land really drew: the browser decoded the SVG it was sent.
    assert page.evaluate(
        "async () => { const i = new Image(); i.src = '/map/land.svg'; await i.decode();"
        " return i.naturalWidth; }"
    ) > 0
    assert image.count() == 1
    shot(page, "directory-map")
    # Dots may overlap in a dense region: whichever is on top, a click opens a member.
    page.locator(".members-map a").first.click(force=True)
    expect(page).to_have_url(re.compile(r"/m/"))
    expect(page.locator("h1")).to_be_visible()


def test_events_online_filter_and_add_to_calendar(demo: Demo, page: Page) -> None:
    page.goto(demo.hub + "/e")
    everything = page.locator("ul.results .name").all_inner_texts()
    page.get_by_label("Taking part").select_option("online")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"attendance=online"))
    expect(page.get_by_label("Taking part")).to_have_value("online")
    online = page.locator("ul.results .name").all_inner_texts()
    assert online and len(online) < len(everything)
    # The page lists what the API finds for the same filter: the events with an online link.
    api = httpx.get(demo.hub + "/events", params={"attendance": "online", "limit": 200}, timeout=10)
    assert api.status_code == 200, api.text
    assert sorted(online) == sorted(e["title"] for e in api.json()["items"])
    assert all(e["online_url"] for e in api.json()["items"])
    shot(page, "events-online")
    page.get_by_label("Taking part").select_option("in_person")
    page.get_by_role("button", name="Filter").click()
    in_person = page.locator("ul.results .name").all_inner_texts()
    assert in_person and set(online) | set(in_person) == set(everything)
    # One event's own calendar file, named by the button.
    page.locator("ul.results a.name").first.click()
    title = page.locator("h1").inner_text()
    button = page.get_by_role("link", name="Add to calendar")
    expect(button).to_be_visible()
    href = button.get_attribute("href")
    assert href and href.endswith(".ics")
    r = page.request.get(urljoin(page.url, href))
    assert r.status == 200 and r.headers["content-type"].startswith("text/calendar")
    text = r.text()
    assert "BEGIN:VEVENT" in text and text.count("BEGIN:VEVENT") == 1
    unfolded = text.replace("\r\n ", "")
    assert f"SUMMARY:{title}".replace(",", "\\,") in unfolded
    shot(page, "event-calendar")


def test_map_filters_and_calendar_on_a_phone(demo: Demo, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  device_scale_factor=2)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(demo.hub + "/?region=europe")
        svg = page.locator(".members-map svg")
        box = svg.bounding_box()
        assert box is not None and box["width"] <= 390
        expect(page.locator(".members-map circle.pin").first).to_be_visible()
        shot(page, "directory-map-phone")
        page.goto(demo.hub + "/e?attendance=online")
        expect(page.get_by_label("Taking part")).to_have_value("online")
        shot(page, "events-online-phone")
        page.locator("ul.results a.name").first.click()
        expect(page.get_by_role("link", name="Add to calendar")).to_be_visible()
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"the event page scrolls sideways by {overflow}px"
        shot(page, "event-phone")
    finally:
        context.close()
