"""The leaders' console in a real browser (Debian's chromium via Playwright), against real
node processes on 127.0.0.1: a hub and a new regional node that is not in the roster yet.

A leader signs in, adds a member (a validation error first), edits it, meets an edit made
elsewhere meanwhile, adds an event and signs out; then sends the hub a join request from
the console, the hub's admin approves it from theirs, and the new node's members arrive
on the hub. Screenshots at desktop and 390 px.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from support.browser import PHONE, shot, watched
from support.proc_federation import Federation, Node
from support.procs import Processes, cli, free_ports

pytestmark = pytest.mark.slow

MEMBER = "Sint Maartenskliniek"


@dataclass
class Pair:
    hub: Node
    node: Node
    hub_admin: str
    node_admin: str


def _admin_token(home: Path) -> str:
    out = cli("token", "create", home, "--role", "admin", "--label", "browser test").stdout
    token = next(word for word in out.split() if word.startswith("hn_"))
    return token


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    root = tmp_path_factory.mktemp("console")
    hub_port, node_port = free_ports(2)
    with Processes(root) as procs:
        fed = Federation(procs, root)
        hub = fed.create("hub", hub_port)
        node = fed.create("europe", node_port)  # follows the hub; not in its roster
        tokens = (_admin_token(hub.home), _admin_token(node.home))
        fed.start("hub", "europe")
        yield Pair(hub, node, *tokens)


def _sign_in(page: Page, url: str, token: str) -> None:
    page.goto(url + "/admin")
    expect(page).to_have_url(re.compile(r"/admin/sign-in"))
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def _no_sideways_scroll(page: Page) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"{page.url} scrolls sideways by {overflow}px"


def test_a_leader_adds_and_edits_a_member_and_an_event(pair: Pair, browser: Browser) -> None:
    url = pair.node.url
    with watched(browser) as page:
        _sign_in(page, url, pair.node_admin)
        page.get_by_role("navigation", name="Console").get_by_role("link", name="Members").click()
        page.get_by_role("link", name="Add a member").click()
        page.get_by_label("Name").first.fill(MEMBER)
        page.get_by_label("Kind").select_option("hospital")
        page.get_by_label("Country").select_option(label="Netherlands")
        page.get_by_label("City").fill("Nijmegen")
        page.get_by_label("Latitude").fill("51.82")
        page.get_by_label("Longitude").fill("5.83")
        page.get_by_label("Languages").select_option(["nl", "en"])
        page.get_by_label("Email").fill("not an email")
        page.get_by_role("button", name="Save and sign").click()
        # Nothing saved: the error beside its field, the form as typed.
        expect(page.locator("#form-errors")).to_contain_text("Nothing was saved")
        expect(page.locator("#e-contact_email")).to_be_visible()
        expect(page.get_by_label("Name").first).to_have_value(MEMBER)
        shot(page, "console-member-error")
        page.get_by_label("Email").fill("info@maartenskliniek.nl")
        page.get_by_role("button", name="Save and sign").click()
        expect(page.locator("#saved")).to_contain_text("Saved as version 1")
        expect(page.locator("#saved")).to_contain_text("Signature verified")
        shot(page, "console-member-saved")
        edit_url = page.url.split("?")[0]
        member_id = edit_url.rsplit("/", 1)[1]

        page.get_by_label("City").fill("Ubbergen")
        page.get_by_role("button", name="Save and sign").click()
        expect(page.locator("#saved")).to_contain_text("Saved as version 2")

        # Someone changes it through the API while this tab is open at version 2.
        public = httpx.get(f"{url}/members/{member_id}", timeout=10).json()
        body = {k: public[k] for k in ("name", "kind", "region", "country", "languages")}
        r = httpx.put(f"{url}/admin/members/{member_id}", json={**body, "city": "Groesbeek"},
                      headers={"Authorization": f"Bearer {pair.node_admin}"}, timeout=10)
        assert r.status_code == 200 and r.json()["version"] == 3, r.text
        page.get_by_label("Description").fill("Posture and movement")
        page.get_by_role("button", name="Save and sign").click()
        expect(page.locator("#conflict")).to_contain_text("changed since you opened it")
        expect(page.locator("#conflict")).to_contain_text("Groesbeek")
        expect(page.get_by_label("Description")).to_have_value("Posture and movement")
        shot(page, "console-conflict")
        page.get_by_role("button", name="Save and sign").click()  # knowingly, over version 3
        expect(page.locator("#saved")).to_contain_text("Saved as version 4")
        assert httpx.get(f"{url}/members/{member_id}", timeout=10).json()["city"] == "Ubbergen"

        page.get_by_role("navigation", name="Console").get_by_role("link", name="Events").click()
        page.get_by_role("link", name="Add an event").click()
        page.get_by_label("Title").fill("Zorg en sociale media")
        page.get_by_label("Kind").select_option("meetup")
        page.get_by_label("Language").select_option("nl")
        page.get_by_label("Organizer").select_option(label=MEMBER)
        page.get_by_label("Starts (local time)").fill("2027-04-01T19:00")
        page.get_by_label("Ends (local time)").fill("2027-04-01T21:00")
        page.get_by_label("Time zone").select_option("Europe/Amsterdam")
        page.get_by_label("City").fill("Nijmegen")
        page.get_by_label("Country").select_option(label="Netherlands")
        page.get_by_role("button", name="Save and sign").click()
        expect(page.locator("#saved")).to_contain_text("Saved as version 1")
        event_id = page.url.split("?")[0].rsplit("/", 1)[1]
        got = httpx.get(f"{url}/events/{event_id}", timeout=10).json()
        assert got["starts_at_utc"] == "2027-04-01T17:00:00Z" and got["organizer"] == member_id
        shot(page, "console-event-saved")

        page.get_by_role("button", name="Sign out").click()
        expect(page.locator(".notice.good")).to_contain_text("You are signed out")
        page.goto(url + "/admin/m")
        expect(page).to_have_url(re.compile(r"/admin/sign-in\?next="))

    with watched(browser, **PHONE) as phone:
        _sign_in(phone, url, pair.node_admin)
        phone.goto(f"{url}/admin/m/{member_id}")
        expect(phone.get_by_label("Name").first).to_have_value(MEMBER)
        _no_sideways_scroll(phone)
        shot(phone, "console-member-phone")
        phone.goto(f"{url}/admin/m")
        _no_sideways_scroll(phone)
        shot(phone, "console-members-phone")


def test_import_a_windows_1252_semicolon_file_in_the_browser(
    pair: Pair, browser: Browser, tmp_path: Path
) -> None:
    """A file as Excel on Windows saves it: Windows-1252, ``;`` between cells, headers in
    another order. Previewed (2 new, 1 bad row named) before anything is written."""
    url = pair.node.url
    sheet = tmp_path / "leden.csv"
    sheet.write_bytes(
        "city;name;key;kind;country\r\n"
        "Paris;Hôpital Saint-Louis;hsl;hospital;FR\r\n"
        "Köln;Universitätsklinikum Köln;ukk;academic-medical-centre;DE\r\n"
        "Lyon;Clinique Sans Sorte;csn;castle;FR\r\n".encode("cp1252")
    )
    with watched(browser) as page:
        _sign_in(page, url, pair.node_admin)
        page.get_by_role("navigation", name="Console").get_by_role("link", name="Import").click()
        page.locator("#f-file").set_input_files(str(sheet))
        page.get_by_role("button", name="Upload and preview").click()
        expect(page.locator("#count-new")).to_have_text("2")
        expect(page.locator("#count-rejected")).to_have_text("1")
        expect(page.locator("table.bad-rows")).to_contain_text("kind")
        shot(page, "console-import-preview")
        found = httpx.get(f"{url}/members", params={"q": "Universitätsklinikum"}, timeout=10)
        assert found.json()["items"] == []  # nothing written before the confirmation
        page.locator("#confirm").click()
        expect(page.locator("#status")).to_contain_text("2 created", timeout=30_000)
        shot(page, "console-import-done")
    names = {
        m["name"]
        for m in httpx.get(f"{url}/members", params={"limit": 200}, timeout=10).json()["items"]
    }
    assert {"Hôpital Saint-Louis", "Universitätsklinikum Köln"} <= names


def test_join_from_the_console_approve_on_the_hub_and_see_members_arrive(
    pair: Pair, browser: Browser
) -> None:
    hub, node = pair.hub, pair.node
    assert httpx.get(f"{hub.url}/members", params={"q": MEMBER}, timeout=10).json()["items"] == []
    # One browser for both consoles: two nodes on one host must not sign each other out.
    with watched(browser) as page:
        _sign_in(page, node.url, pair.node_admin)
        _sign_in(page, hub.url, pair.hub_admin)
        page.goto(node.url + "/admin")
        page.get_by_role("link", name="Join the network").click()
        fingerprint = page.locator("#fingerprint").inner_text()
        assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", fingerprint), fingerprint
        page.get_by_label("Your email").fill("reshape@radboudumc.nl")
        page.get_by_role("button", name="Send the join request").click()
        expect(page.locator("#join-status")).to_contain_text("pending")
        shot(page, "console-join-sent")

        page.goto(hub.url + "/admin")
        page.get_by_role("link", name="The network").click()
        row = page.locator(f'tr[data-request] >> text="{fingerprint}"')
        expect(row).to_be_visible()  # the hub's admin reads the same fingerprint back
        shot(page, "console-network-pending")
        page.locator("tr[data-request] a").first.click()
        expect(page.locator("#fingerprint")).to_have_text(fingerprint)
        page.get_by_role("button", name="Approve: list this node in the roster").click()
        expect(page.locator("#done")).to_contain_text("is listed in roster version 2")
        expect(page.locator(f'tr[data-node="{node.node_id}"] [data-field="status"]')).to_have_text(
            "active"
        )
        shot(page, "console-network-approved")

        page.goto(node.url + "/admin/join")
        expect(page.locator("#join-status")).to_contain_text("approved")

        # The new node's members reach the hub by sync, by themselves (bounded wait).
        deadline = time.monotonic() + 60
        found: list[dict[str, object]] = []
        while time.monotonic() < deadline and not found:
            found = httpx.get(f"{hub.url}/members", params={"q": MEMBER}, timeout=10).json()[
                "items"
            ]
            if not found:
                time.sleep(1)
        assert found and found[0]["origin"] == node.node_id
        page.goto(hub.url + "/?q=" + MEMBER.replace(" ", "+"))
        expect(page.locator("ul.results .name").first).to_have_text(MEMBER)
        shot(page, "console-member-on-the-hub")
