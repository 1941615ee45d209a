"""deploy/compose.yaml (no Docker engine here, so its shape is checked, not run) and the
``database_password_file`` setting it relies on: the password reaches the node from a
secret file, never from an environment variable that `docker inspect` shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url
from support.procs import cli

from node.errors import ConfigError
from node.home import init_home
from node.settings import NodeSettings
from schemas.geo import Region

COMPOSE = Path(__file__).resolve().parents[1] / "deploy" / "compose.yaml"
PASSWORD = "p@ss/w:rd?#%"  # every character a URL must quote


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def test_no_service_gets_the_password_in_its_environment() -> None:
    compose = _compose()
    text = COMPOSE.read_text(encoding="utf-8")
    assert "${" not in text  # nothing interpolated from the operator's environment
    secret = compose["secrets"]["db_password"]
    assert secret == {"file": "./secrets/db_password"}
    for name in ("db", "node"):
        service = compose["services"][name]
        assert service["secrets"] == ["db_password"]
        for key, value in service["environment"].items():
            assert "PASSWORD" not in key or key.endswith("_FILE"), key
            assert "@" not in value or make_url(value).password is None, value
    node = compose["services"]["node"]["environment"]
    assert node["HEALTHNET_DATABASE_PASSWORD_FILE"] == "/run/secrets/db_password"
    assert compose["services"]["db"]["environment"]["POSTGRES_PASSWORD_FILE"] == (
        "/run/secrets/db_password"
    )
    # The secret file's folder keeps it out of git.
    ignore = (COMPOSE.parent / "secrets" / ".gitignore").read_text(encoding="utf-8")
    assert "*" in ignore.splitlines()


def test_the_node_is_published_on_loopback_only_behind_a_tls_proxy() -> None:
    compose = _compose()
    assert compose["services"]["node"]["ports"] == ["127.0.0.1:8100:8100"]
    assert "ports" not in compose["services"]["db"]
    assert "TLS-terminating reverse proxy" in COMPOSE.read_text(encoding="utf-8")


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    init_home(home, name="Radboud UMC", region=Region.EUROPE, url="http://127.0.0.1:8101")
    return home


def test_the_password_file_goes_into_the_database_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _home(tmp_path)
    secret = tmp_path / "db_password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")  # as `echo` or openssl writes it
    monkeypatch.setenv("HEALTHNET_DATABASE_URL", "postgresql://healthnet@db/healthnet")
    monkeypatch.setenv("HEALTHNET_DATABASE_PASSWORD_FILE", str(secret))
    url = make_url(NodeSettings.load(home).db_url)
    assert (url.username, url.password, url.host, url.database) == (
        "healthnet", PASSWORD, "db", "healthnet"
    )
    # Without a password file the URL is used as given.
    monkeypatch.delenv("HEALTHNET_DATABASE_PASSWORD_FILE")
    assert NodeSettings.load(home).db_url == "postgresql://healthnet@db/healthnet"


def test_a_missing_password_file_is_a_config_error_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _home(tmp_path)
    monkeypatch.setenv("HEALTHNET_DATABASE_URL", "postgresql://healthnet@db/healthnet")
    monkeypatch.setenv("HEALTHNET_DATABASE_PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="cannot read the database password file"):
        NodeSettings.load(home)


@pytest.mark.postgres
def test_a_node_reaches_postgresql_with_the_url_built_from_the_file(
    tmp_path: Path, pg_url: str
) -> None:
    """The composed URL is one psycopg accepts: `healthnet migrate` runs on it. (The test
    server trusts local connections, so this checks the URL, not the password.)"""
    home = _home(tmp_path)
    secret = tmp_path / "db_password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    env = {"HEALTHNET_DATABASE_URL": pg_url, "HEALTHNET_DATABASE_PASSWORD_FILE": str(secret)}
    result = cli("migrate", home, env=env)
    assert "database at revision" in result.stdout
