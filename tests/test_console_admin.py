"""The console's admin screens over HTTP: tokens (create once-shown, revoke) and the audit
log, and what an editor may not see."""

from __future__ import annotations

import html
import re

import pytest
from support.console import MEMBER_FORM, csrf_of, field_error, post_form, sign_in, token_of
from support.factories import member_body
from support.nodes import Node


@pytest.mark.parametrize("path", ["/admin/tokens", "/admin/log", "/admin/tokens/abc/revoke"])
def test_an_editor_sees_no_admin_screen(sqlite_node: Node, path: str) -> None:
    c = sign_in(sqlite_node, "editor")
    r = c.get(path)
    assert r.status_code == 403 and "admins" in r.text
    assert 'href="/admin/tokens"' not in c.get("/admin").text  # nor a link to one


def test_an_editor_cannot_post_an_admin_form(sqlite_node: Node) -> None:
    c = sign_in(sqlite_node, "editor")
    token = csrf_of(c.get("/admin").text)
    r = c.post("/admin/tokens", data={"csrf": token, "label": "mine", "role": "admin"})
    assert r.status_code == 403
    assert "mine" not in sign_in(sqlite_node, "admin").get("/admin/tokens").text


def test_an_admin_creates_a_token_shown_once_that_works(node: Node) -> None:
    c = sign_in(node, "admin")
    r = post_form(c, "/admin/tokens", "/admin/tokens", {"label": "Comms team", "role": "editor"})
    assert r.status_code == 200
    match = re.search(r'<code class="secret" id="new-token">([^<]+)</code>', r.text)
    assert match is not None
    secret = html.unescape(match.group(1))
    assert secret.startswith("hn_")
    listing = c.get("/admin/tokens").text
    assert "Comms team" in listing and secret not in listing  # never shown again
    made = node.client.post("/admin/members", json=member_body(),
                            headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
    assert made.status_code == 201
    log = c.get("/admin/log").text
    assert "create token" in log and "Comms team" in log


def test_a_token_form_with_errors_keeps_the_label(sqlite_node: Node) -> None:
    c = sign_in(sqlite_node, "admin")
    r = post_form(c, "/admin/tokens", "/admin/tokens", {"label": "x" * 201, "role": "owner"})
    assert r.status_code == 422
    assert field_error(r.text, "label") and field_error(r.text, "role")
    assert 'id="new-token"' not in r.text


def test_revoking_a_token_stops_it_for_the_api_and_the_console(node: Node) -> None:
    admin = sign_in(node, "admin")
    editor = sign_in(node, "editor", client=None)
    editor_id = token_of(node, "editor").split("_")[1]
    confirm = admin.get(f"/admin/tokens/{editor_id}/revoke")
    assert "will stop working at once" in confirm.text
    r = admin.post(f"/admin/tokens/{editor_id}/revoke", data={"csrf": csrf_of(confirm.text)},
                   follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/admin/tokens"
    assert "revoked" in admin.get("/admin/tokens").text
    assert node.client.post("/admin/members", json=member_body(),
                            headers=node.editor).status_code == 401  # fmt: skip
    assert editor.get("/admin", follow_redirects=False).status_code == 303


def test_the_audit_log_lists_who_did_what_newest_first_in_pages(sqlite_node: Node) -> None:
    c = sign_in(sqlite_node, "admin")
    for i in range(55):
        r = post_form(c, "/admin/m/new", "/admin/m/new", {**MEMBER_FORM, "name": f"Org {i:02d}"})
        assert r.status_code == 303
    page = c.get("/admin/log").text
    rows = re.findall(r"<td>(create member|sign in)</td>", page)
    assert len(rows) == 50 and rows[0] == "create member"
    older = re.search(r'<a href="(/admin/log\?before=\d+)" rel="next">', page)
    assert older is not None
    rest = c.get(html.unescape(older.group(1))).text
    assert re.findall(r"<td>(create member|sign in)</td>", rest)[-1] == "sign in"
    admin_id = token_of(sqlite_node, "admin").split("_")[1]
    assert f"<code>{admin_id}</code>" in page
