"""The leaders' console over HTTP: sign-in and its session, CSRF and origin checks, and
the member forms (create, validation, version conflicts, delete)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from support.clock import Clock
from support.console import MEMBER_FORM, csrf_of, field_error, post_form, sign_in, token_of
from support.factories import member_body
from support.nodes import Node, make_node

from node import tokens
from node.db.session import Session
from node.signins import cookie


def _member_count(node: Node) -> int:
    return int(node.client.get("/members", params={"count": "true"}).json()["total"])


def _create(c: TestClient, **changes: object) -> str:
    r = post_form(c, "/admin/m/new", "/admin/m/new", {**MEMBER_FORM, **changes})
    assert r.status_code == 303, r.text
    match = re.fullmatch(r"/admin/m/([0-9a-f-]{36})\?saved=(\d+)", r.headers["location"])
    assert match is not None, r.headers["location"]
    return match.group(1)


# -- signed out -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin", "/admin/m", "/admin/m/new", "/admin/e"])
def test_nothing_in_the_console_is_readable_signed_out(sqlite_node: Node, path: str) -> None:
    r = sqlite_node.client.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/admin/sign-in")
    assert "Sint" not in r.text and "csrf" not in r.text


def test_the_sign_in_page_brings_one_back_where_one_was_going(sqlite_node: Node) -> None:
    c = sqlite_node.client
    r = c.get("/admin/m?q=radboud", follow_redirects=False)
    assert r.headers["location"] == "/admin/sign-in?next=%2Fadmin%2Fm%3Fq%3Dradboud"
    page = c.get(r.headers["location"])
    r = c.post(
        "/admin/sign-in",
        data={"csrf": csrf_of(page.text), "token": token_of(sqlite_node, "editor"),
              "next": "/admin/m?q=radboud"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/admin/m?q=radboud"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/m/x", "/\\evil"])
def test_sign_in_never_redirects_off_the_console(sqlite_node: Node, target: str) -> None:
    c = sqlite_node.client
    page = c.get("/admin/sign-in")
    r = c.post(
        "/admin/sign-in",
        data={"csrf": csrf_of(page.text), "token": token_of(sqlite_node, "editor"),
              "next": target},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/admin"


# -- the session ------------------------------------------------------------------------------


def test_sign_in_gives_an_http_only_strict_cookie_and_stores_only_its_hash(
    sqlite_node: Node,
) -> None:
    c = TestClient(sqlite_node.app, raise_server_exceptions=False)
    page = c.get("/admin/sign-in")
    r = c.post(
        "/admin/sign-in",
        data={"csrf": csrf_of(page.text), "token": token_of(sqlite_node, "editor")},
        follow_redirects=False,
    )
    name = cookie(sqlite_node.settings.node_id)
    set_cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and name in v)
    flags = {part.strip().split("=")[0].lower() for part in set_cookie.split(";")}
    assert {"httponly", "samesite", "path", "max-age"} <= flags
    assert "samesite=strict" in set_cookie.lower() and "path=/admin" in set_cookie.lower()
    assert "secure" not in flags  # the node's URL is http://: a Secure cookie would be lost
    session_id = c.cookies[name]
    with sqlite_node.engine.connect() as conn:
        stored = conn.execute(text("SELECT id_hash, token_id FROM console_sessions")).all()
    assert len(stored) == 1 and session_id not in stored[0][0]
    assert token_of(sqlite_node, "editor") not in r.text
    assert c.get("/admin").status_code == 200


def test_the_cookie_is_secure_when_the_node_is_served_over_https(
    tmp_path: Path, clock: Clock
) -> None:
    node = make_node(tmp_path / "n", f"sqlite:///{tmp_path}/n.db", clock,
                     url="https://europe.healthnet.example")  # fmt: skip
    c = TestClient(node.app, base_url="https://testserver", raise_server_exceptions=False)
    page = c.get("/admin/sign-in")
    assert "secure" in page.headers["set-cookie"].lower()
    r = c.post(
        "/admin/sign-in",
        data={"csrf": csrf_of(page.text), "token": token_of(node, "editor")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "; secure" in r.headers["set-cookie"].lower()


def test_a_wrong_token_is_refused_audited_and_rate_limited(
    tmp_path: Path, clock: Clock
) -> None:
    node = make_node(tmp_path / "n", f"sqlite:///{tmp_path}/n.db", clock,
                     auth_failures_per_minute=3)  # fmt: skip
    c = node.client
    statuses = []
    for _ in range(5):
        page = c.get("/admin/sign-in")
        r = c.post("/admin/sign-in", data={"csrf": csrf_of(page.text), "token": "hn_abc_wrong"})
        statuses.append(r.status_code)
    assert statuses[:3] == [401, 401, 401] and statuses[3:] == [429, 429]
    # X-Forwarded-For is not trusted unless the node is set behind a proxy: still this client.
    page = c.get("/admin/sign-in")
    r = c.post("/admin/sign-in", data={"csrf": csrf_of(page.text), "token": "hn_abc_wrong"},
               headers={"X-Forwarded-For": "10.9.9.9"})  # fmt: skip
    assert r.status_code == 429
    with node.engine.connect() as conn:
        refused = conn.execute(
            text(
                "SELECT count(*) FROM audit_log"
                " WHERE action = 'sign in' AND outcome = 'unauthorized'"
            )
        ).scalar_one()
    assert refused == 3
    # The limit counts per client address: the right token is refused too while over it.
    page = c.get("/admin/sign-in")
    right = token_of(node, "editor")
    r = c.post("/admin/sign-in", data={"csrf": csrf_of(page.text), "token": right})
    assert r.status_code == 429
    clock.advance(minutes=1)
    assert c.get("/admin", follow_redirects=False).status_code == 303  # never signed in


def test_a_session_ends_after_idle_time_and_at_its_absolute_limit(
    sqlite_node: Node, clock: Clock
) -> None:
    c = sign_in(sqlite_node)
    clock.advance(minutes=29)
    assert c.get("/admin").status_code == 200  # in use: the idle clock restarts
    clock.advance(minutes=29)
    assert c.get("/admin").status_code == 200
    clock.advance(minutes=31)
    assert c.get("/admin", follow_redirects=False).status_code == 303
    c = sign_in(sqlite_node)
    for _ in range(35):  # used every 20 minutes, for 11 h 40 min
        clock.advance(minutes=20)
        assert c.get("/admin").status_code == 200
    clock.advance(minutes=20)  # 12 h after signing in
    assert c.get("/admin", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session_even_for_a_copy_of_its_cookie(sqlite_node: Node) -> None:
    c = sign_in(sqlite_node)
    copied = c.cookies[cookie(sqlite_node.settings.node_id)]
    r = post_form(c, "/admin", "/admin/sign-out", {})
    assert r.status_code == 303 and r.headers["location"] == "/admin/sign-in?signed_out=1"
    other = TestClient(sqlite_node.app, raise_server_exceptions=False)
    other.cookies.set(cookie(sqlite_node.settings.node_id), copied, path="/admin")
    assert other.get("/admin", follow_redirects=False).status_code == 303


def test_revoking_the_token_ends_its_sessions(sqlite_node: Node) -> None:
    c = sign_in(sqlite_node)
    editor_id = token_of(sqlite_node, "editor").split("_")[1]
    with Session(sqlite_node.engine) as session:
        tokens.revoke_token(session, token_id=editor_id, now=sqlite_node.app.state.runtime.clock())
        session.commit()
    assert c.get("/admin", follow_redirects=False).status_code == 303


# -- CSRF and origin --------------------------------------------------------------------------


def test_a_form_without_the_csrf_token_or_from_elsewhere_changes_nothing(
    sqlite_node: Node,
) -> None:
    c = sign_in(sqlite_node)
    before = _member_count(sqlite_node)
    token = csrf_of(c.get("/admin/m/new").text)
    attempts = [
        ({**MEMBER_FORM}, {}),
        ({**MEMBER_FORM, "csrf": "0" * 64}, {}),
        ({**MEMBER_FORM, "csrf": token}, {"Origin": "https://evil.example"}),
        ({**MEMBER_FORM, "csrf": token}, {"Sec-Fetch-Site": "cross-site"}),
        ({**MEMBER_FORM, "csrf": token}, {"Sec-Fetch-Site": "same-site"}),
    ]
    for data, headers in attempts:
        r = c.post("/admin/m/new", data=data, headers=headers, follow_redirects=False)
        assert r.status_code == 403, (headers, r.text)
        assert "nothing was changed" in r.text
    assert _member_count(sqlite_node) == before
    # The same form from this site's own page goes through.
    r = c.post("/admin/m/new", data={**MEMBER_FORM, "csrf": token},
               headers={"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert _member_count(sqlite_node) == before + 1


def test_a_csrf_token_is_bound_to_its_session(sqlite_node: Node) -> None:
    first = sign_in(sqlite_node)
    stale = csrf_of(first.get("/admin/m/new").text)
    second = sign_in(sqlite_node, client=TestClient(sqlite_node.app))
    r = second.post("/admin/m/new", data={**MEMBER_FORM, "csrf": stale}, follow_redirects=False)
    assert r.status_code == 403


def test_sign_in_itself_needs_its_form_token(sqlite_node: Node) -> None:
    c = TestClient(sqlite_node.app, raise_server_exceptions=False)
    r = c.post("/admin/sign-in", data={"token": token_of(sqlite_node, "editor")},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 403 and cookie(sqlite_node.settings.node_id) not in c.cookies


# -- member forms -----------------------------------------------------------------------------


def test_create_a_member_in_the_console(node: Node) -> None:
    c = sign_in(node)
    mid = _create(c)
    page = c.get(f"/admin/m/{mid}?saved=1").text
    assert "Saved as version 1" in page and "Signature verified with key ed25519:1" in page
    assert f'href="/m/{mid}"' in page
    public = node.client.get(f"/members/{mid}").json()
    assert public["name"] == "Sint Maartenskliniek" and public["region"] == "europe"
    assert public["languages"] == ["nl", "en"] and public["topics"] == [
        "orthopaedics", "patient engagement"]  # fmt: skip
    assert public["social"] == [
        {"platform": "x", "handle": "@maartenskliniek"},
        {"platform": "linkedin", "url": "https://www.linkedin.com/company/sint-maartenskliniek"},
    ]
    assert public["contact"] == {"email": "info@maartenskliniek.nl"}
    audit = node.client.get("/admin/audit", headers=node.admin).json()["items"]
    editor_id = token_of(node, "editor").split("_")[1]
    assert any(a["action"] == "create member" and a["token_id"] == editor_id
               and a["target_id"] == mid for a in audit)  # fmt: skip
    listed = c.get("/admin/m").text
    assert f'href="/admin/m/{mid}"' in listed


def test_the_edit_form_shows_the_stored_member_and_saves_a_new_version(node: Node) -> None:
    c = sign_in(node)
    mid = _create(c)
    page = c.get(f"/admin/m/{mid}").text
    assert 'value="Sint Maartenskliniek"' in page
    assert '<option value="NL" selected>' in page and '<option value="nl" selected>' in page
    assert "x:@maartenskliniek" in page
    r = post_form(c, f"/admin/m/{mid}", f"/admin/m/{mid}",
                  {**MEMBER_FORM, "version": "1", "city": "Ubbergen"})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == f"/admin/m/{mid}?saved=2"
    got = node.client.get(f"/members/{mid}").json()
    assert (got["city"], got["version"]) == ("Ubbergen", 2)


def test_a_bad_form_names_each_field_keeps_what_was_typed_and_writes_nothing(
    node: Node,
) -> None:
    c = sign_in(node)
    before = _member_count(node)
    bad = {**MEMBER_FORM, "name": "", "contact_email": "not an email", "latitude": "north",
           "website": "www.no-scheme.example", "country": "US", "social": "myspace:@x"}  # fmt: skip
    r = post_form(c, "/admin/m/new", "/admin/m/new", bad)
    assert r.status_code == 422
    page = r.text
    assert "Nothing was saved" in page
    assert field_error(page, "latitude") is not None
    r = post_form(c, "/admin/m/new", "/admin/m/new", {**bad, "latitude": "51.8"})
    page = r.text
    for name in ("name", "contact_email", "website", "country", "social"):
        assert field_error(page, name), name
    assert "europe" in (field_error(page, "country") or "").lower()
    assert 'value="not an email"' in page and 'value="www.no-scheme.example"' in page
    assert '<input id="f-name" name="name" type="text" value=""' in page  # still empty
    assert _member_count(node) == before


def test_an_edit_made_meanwhile_is_never_silently_overwritten(node: Node) -> None:
    c = sign_in(node)
    mid = _create(c)
    opened = c.get(f"/admin/m/{mid}").text  # version 1, in this person's tab
    # Meanwhile someone else changes the city through the API.
    theirs = member_body(name="Sint Maartenskliniek", city="Groesbeek")
    r = node.client.put(f"/admin/members/{mid}", json=theirs, headers=node.admin)
    assert r.status_code == 200 and r.json()["version"] == 2
    mine = {**MEMBER_FORM, "version": "1", "description": "Mine"}
    r = c.post(f"/admin/m/{mid}", data={"csrf": csrf_of(opened), **mine},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 409
    assert "changed since you opened it" in r.text and "version 2" in r.text
    assert "<td>Groesbeek</td>" in r.text  # the newer value, beside mine
    assert 'value="Mine"' in r.text or ">Mine</textarea>" in r.text  # mine kept
    assert node.client.get(f"/members/{mid}").json()["city"] == "Groesbeek"
    # Saving again, now knowingly over version 2, goes through.
    r = c.post(f"/admin/m/{mid}", data={"csrf": csrf_of(opened), **mine, "version": "2"},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert node.client.get(f"/members/{mid}").json()["version"] == 3


def test_delete_a_member_signs_a_tombstone(node: Node) -> None:
    c = sign_in(node)
    mid = _create(c)
    confirm = c.get(f"/admin/m/{mid}/delete")
    assert "will be deleted" in confirm.text
    r = c.post(f"/admin/m/{mid}/delete",
               data={"csrf": csrf_of(confirm.text), "version": "1"},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].startswith("/admin/m?deleted=")
    assert "Deleted “Sint Maartenskliniek”" in c.get(r.headers["location"]).text
    assert node.client.get(f"/members/{mid}").status_code == 404
    record = node.client.get(f"/records/{mid}")
    if record.status_code == 200:
        assert record.json()["record"]["deleted"] is True


def test_records_of_other_nodes_cannot_be_edited_here(sqlite_node: Node) -> None:
    c = sign_in(sqlite_node)
    r = c.get("/admin/m/00000000-0000-4000-8000-000000000000")
    assert r.status_code == 404


def test_event_form_pickers_and_create(node: Node) -> None:
    c = sign_in(node)
    org = _create(c)
    page = c.get("/admin/e/new").text
    assert '<option value="Europe/Amsterdam">Europe/Amsterdam</option>' in page
    assert f'<option value="{org}">Sint Maartenskliniek</option>' in page
    form = {
        "title": "Zorg en sociale media", "kind": "meetup", "status": "scheduled",
        "language": "nl", "organizer": org, "starts_at": "2027-04-01T19:00",
        "ends_at": "2027-04-01T21:00", "timezone": "Europe/Amsterdam", "venue_city": "Nijmegen",
        "venue_country": "NL", "topics": "social media",
    }  # fmt: skip
    r = post_form(c, "/admin/e/new", "/admin/e/new", {**form, "ends_at": "2027-04-01T18:00"})
    assert r.status_code == 422 and field_error(r.text, "ends_at")
    r = post_form(c, "/admin/e/new", "/admin/e/new", form)
    assert r.status_code == 303, r.text
    eid = r.headers["location"].split("/")[-1].split("?")[0]
    got = node.client.get(f"/events/{eid}").json()
    assert got["starts_at_utc"] == "2027-04-01T17:00:00Z" and got["organizer"] == org
    assert got["venue"] == {"city": "Nijmegen", "country": "NL"}
