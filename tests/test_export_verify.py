"""``healthnet export`` and ``healthnet verify``: a node's signed history as JSONL, checked
offline with nothing but the file and the public key, and every kind of tampering named."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from support.cli import hn
from support.factories import event_body, member_body
from support.imports import api

from federation import keys
from federation.signing import verify_envelope


@dataclass
class Exported:
    home: Path
    lines: list[str]  # the export, one envelope per line (newline kept)
    public_key: str
    node_id: str
    ids: dict[str, str]  # "radboud", "maastricht", "event" -> record id
    current: dict[str, dict[str, Any]]  # record id -> GET /records/{id}


def make_history(home: Path, database_url: str) -> Exported:
    """Create, update and delete through the API, then export.

    seq 1 radboud v1 (stub), seq 2 maastricht v1 (stub), seq 3 radboud v2 (live),
    seq 4 maastricht v2 (tombstone), seq 5 event v1 (live).
    """
    hn(
        "init",
        home,
        "--name",
        "Radboud UMC",
        "--region",
        "europe",
        "--url",
        "http://127.0.0.1:8101",
        "--database-url",
        database_url,
    )
    token = hn("token", "create", home).stdout.strip()
    auth = {"Authorization": f"Bearer {token}"}
    with api(home) as client:
        radboud = client.post("/admin/members", json=member_body(), headers=auth)
        assert radboud.status_code == 201, radboud.text
        maastricht = client.post(
            "/admin/members",
            json=member_body(
                name="Maastricht UMC+",
                city="Maastricht",
                latitude=50.8335,
                longitude=5.7089,
                website="https://www.mumc.nl",
            ),
            headers=auth,
        )
        assert maastricht.status_code == 201, maastricht.text
        ids = {"radboud": radboud.json()["id"], "maastricht": maastricht.json()["id"]}
        r = client.put(
            f"/admin/members/{ids['radboud']}",
            json=member_body(city="Arnhem"),
            headers={**auth, "If-Match": '"1"'},
        )
        assert r.json()["version"] == 2, r.text
        r = client.delete(f"/admin/members/{ids['maastricht']}", headers=auth)
        assert r.json()["deleted"] is True, r.text
        r = client.post("/admin/events", json=event_body(), headers=auth)
        assert r.status_code == 201, r.text
        ids["event"] = r.json()["id"]
        current = {rid: client.get(f"/records/{rid}").json() for rid in ids.values()}
        info = client.get("/node").json()
    out = home.parent / "export.jsonl"
    result = hn("export", home, "-o", out)
    assert "exported 5 records" in result.stderr
    assert result.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert text.endswith("\n")
    return Exported(
        home, text.splitlines(keepends=True), info["public_key"], info["node_id"], ids, current
    )


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """One SQLite history, shared by the tamper tests (each works on its own copy)."""
    tmp = tmp_path_factory.mktemp("export")
    return make_history(tmp / "home", f"sqlite:///{tmp / 'node.db'}")


def verify(tmp_path: Path, lines: list[str], *keys_: str, code: int) -> Result:
    path = tmp_path / "copy.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    args: list[object] = ["verify", path]
    for key in keys_:
        args += ["--key", key]
    return hn(*args, code=code)


def failures(result: Result) -> list[str]:
    return [ln for ln in result.stdout.splitlines() if ln.startswith("FAIL ")]


def tally(result: Result) -> tuple[int, int]:
    match = re.search(r"^(\d+) records checked, (\d+) failures$", result.stdout, re.M)
    assert match, result.stdout
    return int(match.group(1)), int(match.group(2))


def edit(line: str, change: Any) -> str:
    envelope = json.loads(line)
    change(envelope)
    return json.dumps(envelope, ensure_ascii=False) + "\n"


# export -------------------------------------------------------------------------------


def test_export_holds_every_signed_record_in_sequence_order(
    tmp_path: Path, database_url: str
) -> None:
    ex = make_history(tmp_path / "home", database_url)
    envelopes = [json.loads(line) for line in ex.lines]
    headers = [e["record"] for e in envelopes]
    assert [h["seq"] for h in headers] == [1, 2, 3, 4, 5]
    assert {h["origin"] for h in headers} == {ex.node_id}
    ids = ex.ids
    assert [(h["id"], h["version"]) for h in headers] == [
        (ids["radboud"], 1),
        (ids["maastricht"], 1),
        (ids["radboud"], 2),
        (ids["maastricht"], 2),
        (ids["event"], 1),
    ]
    assert [set(e) for e in envelopes] == [{"record", "body", "sig"}] * 5

    stub_r, stub_m, live, tomb, event = envelopes
    for stub in (stub_r, stub_m):  # superseded: signed header, no content
        assert stub["body"] is None
        assert stub["record"]["deleted"] is False and stub["record"]["body_hash"]
    assert live["body"]["city"] == "Arnhem"
    assert tomb["record"]["deleted"] is True
    assert tomb["body"] is None and tomb["record"]["body_hash"] is None
    assert event["record"]["kind"] == "event"
    assert event["body"]["title"] == "Health Social Media Day Europe"

    # The current versions are exactly what the API serves, and every line verifies.
    assert live == ex.current[ids["radboud"]]
    assert tomb == ex.current[ids["maastricht"]]
    assert event == ex.current[ids["event"]]
    public = keys.public_key(ex.public_key)
    for envelope in envelopes:
        verify_envelope(envelope, public)

    result = verify(tmp_path, ex.lines, ex.public_key, code=0)
    assert tally(result) == (5, 0)
    assert failures(result) == []


def test_export_to_stdout(exported: Exported) -> None:
    result = hn("export", exported.home)
    assert result.stdout.splitlines(keepends=True) == exported.lines
    assert "exported 5 records" in result.stderr


def test_export_of_an_empty_node(tmp_path: Path) -> None:
    home = tmp_path / "home"
    hn(
        "init",
        home,
        "--name",
        "Radboud UMC",
        "--region",
        "europe",
        "--url",
        "http://127.0.0.1:8101",
    )
    result = hn("export", home, "-o", tmp_path / "empty.jsonl")
    assert (tmp_path / "empty.jsonl").read_text() == ""
    assert "exported 0 records" in result.stderr
    result = hn("verify", tmp_path / "empty.jsonl", "--key", keys.generate().public_b64)
    assert tally(result) == (0, 0)


# verify: the happy paths ---------------------------------------------------------------


def test_verify_accepts_the_untouched_export(tmp_path: Path, exported: Exported) -> None:
    result = verify(tmp_path, exported.lines, exported.public_key, code=0)
    assert tally(result) == (5, 0)
    assert "5 records checked, 0 failures" in result.stdout


def test_verify_accepts_key_id_equals_key_syntax(tmp_path: Path, exported: Exported) -> None:
    result = verify(tmp_path, exported.lines, f"ed25519:1={exported.public_key}", code=0)
    assert tally(result) == (5, 0)


def test_verify_names_a_key_id_it_was_not_given(tmp_path: Path, exported: Exported) -> None:
    result = verify(tmp_path, exported.lines, f"ed25519:2={exported.public_key}", code=1)
    assert tally(result) == (5, 5)
    assert all("no public key given for ed25519:1" in f for f in failures(result))


def test_verify_rejects_a_malformed_key_argument(tmp_path: Path, exported: Exported) -> None:
    result = verify(tmp_path, exported.lines, exported.public_key[:-2], code=2)
    assert "--key" in result.stderr
    assert "records checked" not in result.stdout


# verify: tampering --------------------------------------------------------------------


def test_a_changed_body_field_is_named(tmp_path: Path, exported: Exported) -> None:
    lines = list(exported.lines)
    lines[2] = edit(lines[2], lambda e: e["body"].update(city="Nijmegen"))
    result = verify(tmp_path, lines, exported.public_key, code=1)
    fails = failures(result)
    assert any(
        f.startswith("FAIL line 3 ") and "body does not match body_hash" in f for f in fails
    ), result.stdout
    assert not any(re.match(r"FAIL line [1245] ", f) for f in fails), result.stdout
    assert tally(result)[0] == 5


def test_a_body_added_to_a_stub_is_named(tmp_path: Path, exported: Exported) -> None:
    lines = list(exported.lines)
    body = json.loads(lines[2])["body"]  # v2's body (Arnhem) does not match v1's hash
    lines[0] = edit(lines[0], lambda e: e.update(body=body))
    result = verify(tmp_path, lines, exported.public_key, code=1)
    assert any(
        f.startswith("FAIL line 1 ") and "body does not match" in f for f in failures(result)
    ), result.stdout

    # The original v1 body re-attached to its stub matches its hash, but a superseded
    # version never carries its body in what a node serves (a rolled-back record would):
    # named as that, not as a bad body.
    lines[0] = edit(exported.lines[0], lambda e: e.update(body={**body, "city": "Nijmegen"}))
    result = verify(tmp_path, lines, exported.public_key, code=1)
    [failure] = failures(result)
    assert failure.startswith("FAIL line 1: ") and "v1 of" in failure, failure
    assert "v2 is held with its body" in failure and "only the version shown" in failure


def test_a_changed_header_field_is_named(tmp_path: Path, exported: Exported) -> None:
    lines = list(exported.lines)
    lines[1] = edit(lines[1], lambda e: e["record"].update(issued_at="2020-01-01T00:00:00Z"))
    result = verify(tmp_path, lines, exported.public_key, code=1)
    fails = failures(result)
    assert any(f.startswith("FAIL line 2 ") and "signature does not verify" in f for f in fails), (
        result.stdout
    )
    assert not any(re.match(r"FAIL line [1345] ", f) for f in fails), result.stdout


def test_a_resurrected_tombstone_is_named(tmp_path: Path, exported: Exported) -> None:
    lines = list(exported.lines)
    lines[3] = edit(lines[3], lambda e: e["record"].update(deleted=False))
    result = verify(tmp_path, lines, exported.public_key, code=1)
    assert any(f.startswith("FAIL line 4") for f in failures(result)), result.stdout


def test_swapped_signatures_are_both_named(tmp_path: Path, exported: Exported) -> None:
    lines = list(exported.lines)
    first, second = json.loads(lines[0]), json.loads(lines[4])
    lines[0] = edit(lines[0], lambda e: e.update(sig=second["sig"]))
    lines[4] = edit(lines[4], lambda e: e.update(sig=first["sig"]))
    result = verify(tmp_path, lines, exported.public_key, code=1)
    fails = failures(result)
    for number in (1, 5):
        assert any(
            f.startswith(f"FAIL line {number} ") and "signature does not verify" in f for f in fails
        ), result.stdout
    assert not any(re.match(r"FAIL line [234] ", f) for f in fails), result.stdout


def test_a_deleted_line_is_a_sequence_gap(tmp_path: Path, exported: Exported) -> None:
    lines = list(exported.lines)
    del lines[2]  # seq 3: every remaining line still verifies on its own
    result = verify(tmp_path, lines, exported.public_key, code=1)
    assert tally(result) == (4, 1)
    (fail,) = failures(result)
    assert f"origin {exported.node_id}: sequence numbers missing: 3" in fail


def test_two_deleted_lines_are_both_listed(tmp_path: Path, exported: Exported) -> None:
    lines = [exported.lines[0], exported.lines[3], exported.lines[4]]
    result = verify(tmp_path, lines, exported.public_key, code=1)
    assert any("sequence numbers missing: 2, 3" in f for f in failures(result)), result.stdout


def test_an_appended_garbage_line_is_named(tmp_path: Path, exported: Exported) -> None:
    lines = [*exported.lines, "this is not an envelope\n"]
    result = verify(tmp_path, lines, exported.public_key, code=1)
    assert tally(result) == (6, 1)
    (fail,) = failures(result)
    assert fail.startswith("FAIL line 6: malformed envelope"), fail


def test_an_envelope_with_an_extra_header_member_is_malformed(
    tmp_path: Path, exported: Exported
) -> None:
    lines = list(exported.lines)
    lines[4] = edit(lines[4], lambda e: e["record"].update(note="hi"))
    result = verify(tmp_path, lines, exported.public_key, code=1)
    assert any(f.startswith("FAIL line 5: malformed envelope") for f in failures(result))


def test_the_wrong_key_fails_every_line(tmp_path: Path, exported: Exported) -> None:
    other = keys.generate().public_b64
    result = verify(tmp_path, exported.lines, other, code=1)
    assert tally(result) == (5, 5)
    fails = failures(result)
    for number in range(1, 6):
        assert any(
            f.startswith(f"FAIL line {number} ") and "signature does not verify" in f for f in fails
        ), result.stdout


def test_a_tampered_body_is_not_also_reported_as_a_gap(tmp_path: Path, exported: Exported) -> None:
    lines = list(exported.lines)
    lines[2] = edit(lines[2], lambda e: e["body"].update(city="Nijmegen"))
    result = verify(tmp_path, lines, exported.public_key, code=1)
    assert "sequence numbers missing" not in result.stdout
    assert tally(result) == (5, 1)
