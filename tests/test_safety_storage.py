"""Failure behaviour of what a node stores: a failed write leaves nothing behind, and the
signing key stays private (on disk, in responses and in the database)."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import event, func, select, text
from support.factories import member_body
from support.nodes import Node
from support.problems import assert_problem
from support.safety_nodes import RID

from federation.canonical import b64url
from node.db.tables import ENTRIES, RECORDS, SEQUENCES, TAGS, AuditEntry
from node.errors import ConfigError
from node.home import load_key

# --- nothing half-written --------------------------------------------------------------------


class Sabotage:
    """Make every statement that starts with ``prefix`` fail, after earlier statements of the
    same transaction have already run."""

    def __init__(self, engine: Any, prefix: str) -> None:
        self.engine = engine
        self.prefix = prefix
        self.fired = 0

    def _hook(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(self.prefix):
            self.fired += 1
            raise RuntimeError("injected failure")

    def __enter__(self) -> Sabotage:
        event.listen(self.engine, "before_cursor_execute", self._hook)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._hook)


def counts(node: Node) -> dict[str, Any]:
    with node.engine.connect() as conn:

        def n(table: Any) -> int:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

        return {
            "records": n(RECORDS),
            "entries": n(ENTRIES),
            "tags": n(TAGS),
            "audit": n(AuditEntry.__table__),  # type: ignore[attr-defined]
            "last_seq": conn.execute(select(SEQUENCES.c.last_seq)).scalar_one(),
            "record_ids": sorted(r[0] for r in conn.execute(select(RECORDS.c.record_id))),
            "current": sorted(
                (r[0], r[1])
                for r in conn.execute(
                    select(RECORDS.c.record_id, RECORDS.c.version).where(
                        RECORDS.c.current.is_(True)
                    )
                )
            ),
        }


def test_a_write_failing_midway_leaves_nothing_behind(node: Node) -> None:
    c = node.client
    first = c.post("/admin/members", json=member_body(), headers=node.editor).json()["id"]
    before = counts(node)
    assert before["last_seq"] == 1 and before["tags"] > 0

    body = member_body(name="Zyxwvut Clinic", city="Tilburg", latitude=51.56, longitude=5.09)
    with Sabotage(node.engine, "INSERT INTO ENTRY_TAGS") as sabotage:
        r = c.post("/admin/members", json=body, headers=node.editor)
    assert sabotage.fired == 1  # the failure struck after records and entries were written
    assert r.status_code == 500
    problem = assert_problem(r, 500)
    assert "injected" not in r.text and "Traceback" not in problem["detail"]

    after = counts(node)
    assert after == before
    assert after["record_ids"] == [first]  # no row in records for the failed id
    assert c.get("/node").json()["last_seq"] == 1
    assert c.get("/members", params={"q": "zyxwvut", "count": True}).json()["total"] == 0
    assert c.get("/members", params={"count": True}).json()["total"] == 1

    r = c.post("/admin/members", json=body, headers=node.editor)
    assert r.status_code == 201, r.text
    assert r.json()["seq"] == 2  # no gap
    assert c.get("/members", params={"q": "zyxwvut"}).json()["items"][0]["id"] == r.json()["id"]


def test_an_update_failing_midway_keeps_the_old_version(node: Node) -> None:
    c = node.client
    mid = c.post("/admin/members", json=member_body(), headers=node.editor).json()["id"]
    before = counts(node)

    with Sabotage(node.engine, "INSERT INTO ENTRY_TAGS") as sabotage:
        r = c.put(
            f"/admin/members/{mid}",
            json=member_body(city="Arnhem", topics=["telehealth"]),
            headers={**node.editor, "If-Match": '"1"'},
        )
    assert sabotage.fired == 1
    assert_problem(r, 500)
    assert counts(node) == before
    got = c.get(f"/members/{mid}").json()
    assert got["city"] == "Nijmegen" and got["version"] == 1
    assert c.get("/members", params={"topic": "innovation", "count": True}).json()["total"] == 1
    assert c.get("/members", params={"topic": "telehealth", "count": True}).json()["total"] == 0
    assert c.get(f"/records/{mid}").json()["record"]["version"] == 1

    r = c.put(
        f"/admin/members/{mid}",
        json=member_body(city="Arnhem"),
        headers={**node.editor, "If-Match": '"1"'},
    )
    assert r.status_code == 200 and (r.json()["version"], r.json()["seq"]) == (2, 2)


def test_a_delete_failing_midway_keeps_the_member(node: Node) -> None:
    c = node.client
    mid = c.post("/admin/members", json=member_body(), headers=node.editor).json()["id"]
    before = counts(node)
    with Sabotage(node.engine, "DELETE FROM ENTRIES") as sabotage:
        r = c.delete(f"/admin/members/{mid}", headers=node.editor)
    assert sabotage.fired == 1
    assert_problem(r, 500)
    assert counts(node) == before
    assert c.get(f"/members/{mid}").status_code == 200
    assert c.get(f"/records/{mid}").json()["record"]["deleted"] is False
    r = c.delete(f"/admin/members/{mid}", headers=node.editor)
    assert r.status_code == 200 and r.json()["seq"] == 2


# --- the signing key -------------------------------------------------------------------------


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_file_is_private(sqlite_node: Node) -> None:
    path = sqlite_node.settings.key_path
    assert path.is_file()
    assert mode_of(path) == 0o600
    assert mode_of(path.parent) == 0o700
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o700])
def test_loading_a_key_others_can_read_is_refused(sqlite_node: Node, mode: int) -> None:
    settings = sqlite_node.settings
    assert load_key(settings).public_b64 == sqlite_node.app.state.runtime.key.public_b64
    os.chmod(settings.key_path, mode)
    if mode & 0o077:
        with pytest.raises(ConfigError, match="chmod 600"):
            load_key(settings)
    else:  # owner-only (even with x) is fine
        assert load_key(settings).public_b64 == sqlite_node.app.state.runtime.key.public_b64


def test_a_missing_key_is_a_config_error(sqlite_node: Node) -> None:
    sqlite_node.settings.key_path.unlink()
    with pytest.raises(ConfigError, match="missing"):
        load_key(sqlite_node.settings)


def private_forms(node: Node) -> dict[str, str]:
    """Every textual form the private key could leak in."""
    pem = node.settings.key_path.read_text()
    raw = node.app.state.runtime.key.private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    assert len(raw) == 32
    der_b64 = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    return {
        "pem": pem.strip(),
        "pem-body": der_b64,
        "raw-b64url": b64url(raw),
        "raw-b64": base64.b64encode(raw).decode(),
        "raw-hex": raw.hex(),
    }


def test_the_private_key_never_appears_in_a_response(sqlite_node: Node) -> None:
    c = sqlite_node.client
    created = c.post("/admin/members", json=member_body(), headers=sqlite_node.editor).json()
    mid = created["id"]
    c.post("/admin/members", json=member_body(), headers={"Authorization": "Bearer bad"})
    responses: dict[str, str] = {"write": json.dumps(created)}
    for path, headers in [
        ("/node", {}),
        ("/openapi.json", {}),
        ("/docs", {}),
        ("/healthz", {}),
        (f"/records/{mid}", {}),
        (f"/members/{mid}", {}),
        ("/members", {}),
        ("/events", {}),
        ("/admin/audit", sqlite_node.admin),
        (f"/records/{RID}", {}),
    ]:
        r = c.get(path, headers=headers)
        assert r.status_code in (200, 404), (path, r.status_code)
        responses[path] = r.text + json.dumps(dict(r.headers))

    forms = private_forms(sqlite_node)
    for where, body in responses.items():
        for name, secret in forms.items():
            assert secret not in body, f"{name} of the private key leaked in {where}"
    # Control: the scan would find a key that is there, e.g. the public one.
    assert sqlite_node.app.state.runtime.key.public_b64 in responses["/node"]
    assert forms["raw-b64url"] not in repr(sqlite_node.app.state.runtime.key)


def test_the_private_key_is_not_in_the_database(sqlite_node: Node) -> None:
    sqlite_node.client.post("/admin/members", json=member_body(), headers=sqlite_node.editor)
    forms = private_forms(sqlite_node)
    with sqlite_node.engine.connect() as conn:
        tables = [
            r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
        ]
        dump = ""
        for table in tables:
            dump += repr(conn.execute(text(f'SELECT * FROM "{table}"')).all())
    assert "records" in tables and len(dump) > 100
    for name, secret in forms.items():
        assert secret not in dump, name
