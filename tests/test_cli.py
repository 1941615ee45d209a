"""The ``healthnet`` command line, driven in-process: init, info, tokens and migrate."""

from __future__ import annotations

import hashlib
import json
import re
import stat
import tomllib
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from click.testing import Result
from sqlalchemy import text
from support.cli import hn
from support.factories import member_body
from support.imports import api

from federation import keys
from federation.joining import fingerprint
from node.db import migrate
from node.db.engine import make_engine
from node.home import load_key
from node.settings import NodeSettings

URL = "http://127.0.0.1:8101"
TOKEN = re.compile(r"^hn_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


def init(home: Path, *extra: object, region: str = "europe", code: int | None = 0) -> Result:
    return hn(
        "init", home, "--name", "Radboud UMC", "--region", region, "--url", URL, *extra, code=code
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    init(path)
    return path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# init ---------------------------------------------------------------------------------


def test_init_prints_identity_and_writes_a_private_key(tmp_path: Path) -> None:
    home = tmp_path / "radboud"
    result = init(home)
    node_id = re.search(r"node id:\s+(hn-[a-z2-7]{24})\s*$", result.stdout, re.M)
    public = re.search(r"public key:\s+([A-Za-z0-9_-]{43}) \(ed25519:1\)", result.stdout)
    assert node_id and public, result.stdout

    key_file = home / "keys" / "ed25519-1.pem"
    assert _mode(key_file) == 0o600
    assert _mode(home / "keys") == 0o700

    config = tomllib.loads((home / "healthnet.toml").read_text(encoding="utf-8"))
    assert config["node_id"] == node_id.group(1)
    assert config["name"] == "Radboud UMC"
    assert config["region"] == "europe"
    assert config["url"] == URL
    assert "database_url" not in config  # SQLite in the home by default
    assert (home / "node.db").is_file()
    # It holds token hashes and the audit log: as private as the key, and so are the
    # WAL files SQLite adds beside it once the node has written.
    assert _mode(home / "node.db") == 0o600
    for extra in ("node.db-wal", "node.db-shm"):
        if (home / extra).exists():
            assert _mode(home / extra) == 0o600

    # The printed key is the key on disk, and the node id is derived from it.
    key = load_key(NodeSettings.load(home))
    assert key.public_b64 == public.group(1)
    assert keys.node_id_for(key.public_raw) == node_id.group(1)
    assert b"PRIVATE KEY" in key_file.read_bytes()
    assert key.public_b64 not in result.stderr  # nothing secret or noisy on stderr either


def test_init_twice_refuses_and_keeps_the_first_key(home: Path) -> None:
    key_before = (home / "keys" / "ed25519-1.pem").read_bytes()
    config_before = (home / "healthnet.toml").read_bytes()
    result = init(home, code=None)
    assert result.exit_code != 0
    assert "already holds a node" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert (home / "keys" / "ed25519-1.pem").read_bytes() == key_before
    assert (home / "healthnet.toml").read_bytes() == config_before


def test_init_with_an_unknown_region_is_a_usage_error(tmp_path: Path) -> None:
    home = tmp_path / "mars"
    result = hn("init", home, "--name", "Mars General", "--region", "mars", "--url", URL, code=2)
    assert "--region" in result.stderr
    assert "europe" in result.stderr  # the valid choices are listed
    assert not home.exists()


def test_init_requires_name_and_url(tmp_path: Path) -> None:
    result = hn("init", tmp_path / "h", "--region", "europe", code=2)
    assert "Missing option" in result.stderr
    assert not (tmp_path / "h").exists()


def test_init_retry_after_a_bad_url_succeeds(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = hn("init", home, "--name", "X", "--region", "europe", "--url", "not-a-url", code=2)
    assert "url" in result.stderr
    result = init(home, code=None)
    assert result.exit_code == 0, (result.stderr, result.exception)


def test_init_with_an_unreachable_database_reports_a_clean_error(tmp_path: Path) -> None:
    dead = "postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=2"
    result = init(tmp_path / "home", "--database-url", dead, code=None)
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "error:" in result.stderr


# info ---------------------------------------------------------------------------------


def test_info_prints_the_node_identity_as_json(home: Path) -> None:
    config = tomllib.loads((home / "healthnet.toml").read_text(encoding="utf-8"))
    data = json.loads(hn("info", home).stdout)
    key = load_key(NodeSettings.load(home))
    assert data == {
        "node_id": config["node_id"],
        "name": "Radboud UMC",
        "region": "europe",
        "url": URL,
        "key_id": "ed25519:1",
        "public_key": key.public_b64,
        "fingerprint": fingerprint(key.public_b64),
    }


def test_commands_on_a_directory_that_is_not_a_home_fail_clearly(tmp_path: Path) -> None:
    for command in (["info"], ["migrate"], ["token", "list"], ["token", "create"]):
        result = hn(*command, tmp_path, code=2)
        assert "not a healthnet node home" in result.stderr, command


def test_info_refuses_a_key_readable_by_others(home: Path) -> None:
    (home / "keys" / "ed25519-1.pem").chmod(0o644)
    result = hn("info", home, code=None)
    assert result.exit_code != 0
    assert "chmod 600" in str(result.exception) + result.stderr


# tokens -------------------------------------------------------------------------------


def test_token_create_prints_the_secret_once_and_stores_only_its_hash(home: Path) -> None:
    result = hn("token", "create", home, "--role", "admin", "--label", "ops laptop")
    plaintext = result.stdout.strip()
    assert result.stdout == plaintext + "\n"  # stdout is the token alone, for scripts
    match = TOKEN.match(plaintext)
    assert match, result.stdout
    token_id, secret = match.groups()
    assert f"token {token_id} (admin) created" in result.stderr
    assert secret not in result.stderr

    engine = make_engine(NodeSettings.load(home).db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT * FROM api_tokens")).mappings().all()
    finally:
        engine.dispose()
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == token_id and row["role"] == "admin" and row["label"] == "ops laptop"
    assert row["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert all(secret not in str(value) for value in row.values())
    # Not in any file of the home either (database, WAL, config).
    for path in home.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path

    with api(home) as client:  # and the plaintext works as an admin token
        auth = {"Authorization": f"Bearer {plaintext}"}
        assert client.get("/admin/audit", headers=auth).status_code == 200


def test_token_create_defaults_to_editor(home: Path) -> None:
    plaintext = hn("token", "create", home).stdout.strip()
    with api(home) as client:
        auth = {"Authorization": f"Bearer {plaintext}"}
        r = client.post("/admin/members", json=member_body(), headers=auth)
        assert r.status_code == 201, r.text
        assert client.get("/admin/audit", headers=auth).status_code == 403


def test_token_create_rejects_an_unknown_role(home: Path) -> None:
    result = hn("token", "create", home, "--role", "root", code=2)
    assert "--role" in result.stderr
    assert result.stdout == ""


def test_token_list_shows_ids_roles_and_labels_but_never_secrets(home: Path) -> None:
    made = {}
    for role, label in (("admin", "alice"), ("editor", "import job")):
        plaintext = hn("token", "create", home, "--role", role, "--label", label).stdout.strip()
        token_id, secret = TOKEN.match(plaintext).groups()  # type: ignore[union-attr]
        made[token_id] = (role, label, secret)
    listing = hn("token", "list", home).stdout
    for token_id, (role, label, secret) in made.items():
        line = next(ln for ln in listing.splitlines() if token_id in ln)
        assert role in line and label in line
        assert secret not in listing
        assert secret[:8] not in listing
        assert hashlib.sha256(secret.encode()).hexdigest()[:16] not in listing
        assert f"hn_{token_id}_" not in listing


def test_token_revoke_rejects_the_token_at_once(home: Path) -> None:
    plaintext = hn("token", "create", home, "--role", "editor").stdout.strip()
    token_id = TOKEN.match(plaintext).group(1)  # type: ignore[union-attr]
    auth = {"Authorization": f"Bearer {plaintext}"}
    with api(home) as client:  # a node that is already running when the token is revoked
        r = client.post("/admin/members", json=member_body(), headers=auth)
        assert r.status_code == 201, r.text

        result = hn("token", "revoke", home, token_id)
        assert f"token {token_id} revoked" in result.stdout

        r = client.post("/admin/members", json=member_body(name="Maastricht UMC+"), headers=auth)
        assert r.status_code == 401, r.text
        assert client.get("/members", params={"q": "maastricht"}).json()["items"] == []

    listing = hn("token", "list", home).stdout
    line = next(ln for ln in listing.splitlines() if token_id in ln)
    assert re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z.*\d{4}-\d{2}-\d{2}T", line), line

    hn("token", "revoke", home, token_id)  # revoking again is harmless
    with api(home) as client:
        assert client.post("/admin/members", json=member_body(), headers=auth).status_code == 401


def test_token_revoke_of_an_unknown_id_fails(home: Path) -> None:
    result = hn("token", "revoke", home, "0123456789ab", code=1)
    assert "no token 0123456789ab" in result.stderr


# migrate ------------------------------------------------------------------------------


def test_migrate_is_idempotent_and_keeps_data(home: Path) -> None:
    head = ScriptDirectory.from_config(migrate._config()).get_current_head()
    plaintext = hn("token", "create", home, "--role", "admin").stdout.strip()
    first = hn("migrate", home).stdout
    second = hn("migrate", home).stdout
    assert first == second == f"database at revision {head}\n"
    with api(home) as client:
        auth = {"Authorization": f"Bearer {plaintext}"}
        assert client.get("/admin/audit", headers=auth).status_code == 200


@pytest.mark.postgres
def test_migrate_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    home = tmp_path / "home"
    init(home, "--database-url", pg_url)
    assert tomllib.loads((home / "healthnet.toml").read_text())["database_url"] == pg_url
    assert not (home / "node.db").exists()
    first = hn("migrate", home).stdout
    assert first == hn("migrate", home).stdout
    assert re.fullmatch(r"database at revision \w+\n", first), first
    with api(home) as client:
        assert client.get("/healthz").json() == {"status": "ok", "database": "postgresql"}


def test_no_arguments_shows_help() -> None:
    # no_args_is_help: the help on stderr (click's usage errors go there) and exit 2.
    result = hn(code=2)
    assert "Usage" in result.stderr
    listed = re.findall(r"^  ([a-z]+)  ", result.stderr, re.M)
    # Every command, in the order a newcomer meets them: a node's first hour first.
    assert listed[:4] == ["init", "token", "import", "serve"]
    assert set(listed) >= {"info", "migrate", "export", "verify", "join", "sync", "roster"}
