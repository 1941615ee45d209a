"""Node settings: read from the node home's ``healthnet.toml``, overridden by ``HEALTHNET_*``.

Environment variables win over the file so that a container or systemd unit can point a
node at its PostgreSQL database without editing the home. Nothing is read at import time:
``NodeSettings.load(home)`` is called by the CLI and by tests, each with its own home.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from node import sheets
from node.errors import ConfigError
from schemas.fields import check_base_url, check_key_text
from schemas.geo import Region
from schemas.record import NodeId

CONFIG_NAME = "healthnet.toml"
# What a node is, as opposed to how it runs: the home it was loaded from and the identity
# its key derives. The environment may tune everything else, never these (a stray
# HEALTHNET_HOME would point the node at another directory's database).
FIXED = ("home", "node_id")


class _Environment(EnvSettingsSource):
    """``HEALTHNET_*`` variables, without the ``FIXED`` names."""

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in super().__call__().items() if k not in FIXED}


class NodeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEALTHNET_", extra="forbid")

    home: Path
    node_id: NodeId
    name: str = Field(min_length=1, max_length=200)
    region: Region
    url: str
    key_id: str = "ed25519:1"
    key_from_seq: int = Field(default=1, ge=1, description="First seq the current key signs")
    database_url: str = ""
    # A file holding the database password (a Docker or systemd secret): ``db_url`` puts
    # it into ``database_url``, so the password is never in an environment variable, which
    # ``docker inspect`` and /proc/PID/environ show to anyone who can look.
    database_password_file: str = ""
    # Limits. Defaults suit a regional node; each is documented in docs/OPERATIONS.md.
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    # The console's file upload (POST /admin/import) alone may send this much.
    max_upload_bytes: int = Field(default=sheets.MAX_BYTES, ge=1024)
    max_page_size: int = Field(default=200, ge=1, le=200)
    write_rate_per_minute: int = Field(default=600, ge=1)
    auth_failures_per_minute: int = Field(default=20, ge=1)
    # /network (polled by every open /world page) is built at most once per this many seconds.
    network_view_seconds: float = Field(default=2.0, ge=0)
    log_level: str = "info"
    # Federation. The hub holds the roster; a regional node pins the hub's key.
    hub: bool = False
    hub_url: str = ""
    hub_key: str = ""
    leader: str = ""
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    placeholder: bool = False
    sync_interval_seconds: float = Field(default=30.0, gt=0)
    sync_jitter_seconds: float = Field(default=5.0, ge=0)
    sync_page_size: int = Field(default=500, ge=1, le=1000)
    sync_max_pages: int = Field(default=1000, ge=1)
    sync_request_deadline_seconds: float = Field(default=60.0, gt=0)
    # How often a pull also collects a peer's checkpoint cosignatures (docs/PROTOCOL.md
    # 10.8); sooner when its heads disagree with ours. Proofs are fetched whenever a peer's
    # heads say it holds more than it did.
    checkpoint_interval_seconds: float = Field(default=300.0, ge=0)
    nudge: bool = True
    # Behind a reverse proxy: trust its X-Forwarded-For/-Proto from these addresses only,
    # so rate limits count the real client (one attacker cannot lock every editor out)
    # and links say https. Off by default: a node reached directly must not believe
    # headers any client can send.
    proxy_headers: bool = False
    forwarded_allow_ips: str = "127.0.0.1"
    console_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    console_session_hours: int = Field(default=12, ge=1, le=24 * 7)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_base_url(value)

    @field_validator("hub_key")
    @classmethod
    def _hub_key(cls, value: str) -> str:
        return check_key_text(value) if value else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (_Environment(settings_cls), init_settings)

    @classmethod
    def load(cls, home: Path, **overrides: Any) -> NodeSettings:
        home = home.resolve()
        path = home / CONFIG_NAME
        if not path.is_file():
            raise ConfigError(f"{home} is not a healthnet node home (no {CONFIG_NAME})")
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        data.update(overrides)
        try:
            settings = cls(home=home, **data)
        except ValidationError as exc:
            raise ConfigError(f"{path} (or a HEALTHNET_* variable): {describe(exc)}") from exc
        if settings.database_password_file:  # a missing secret fails here, not at first use
            read_secret(Path(settings.database_password_file))
        return settings

    @property
    def db_url(self) -> str:
        if not self.database_url:
            return f"sqlite:///{self.home / 'node.db'}"
        if not self.database_password_file:
            return self.database_url
        return with_password(self.database_url, read_secret(Path(self.database_password_file)))

    @property
    def key_path(self) -> Path:
        return key_file(self.home, self.key_id)


def describe(exc: ValidationError, names: dict[str, str] | None = None) -> str:
    """A validation error as one line a person reads: each field (under the name the
    reader knows it by, such as ``--hub-key``) and why, without pydantic's input dump and
    link. ``names`` maps a setting to that name."""
    names = names or {}
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "settings"
        reason = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{names.get(field, field)}: {reason}")
    return "; ".join(parts)


def key_file(home: Path, key_id: str) -> Path:
    return home / "keys" / (key_id.replace(":", "-") + ".pem")


def read_secret(path: Path) -> str:
    """A secret file's content without its final line break (as PostgreSQL's image reads
    ``POSTGRES_PASSWORD_FILE``, so one file serves both)."""
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the database password file {path}: {exc}") from exc


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` in it, quoted as a URL needs (``@``, ``/`` or ``:`` in it)."""
    from sqlalchemy.engine import make_url  # here: reading settings needs no database library

    return make_url(url).set(password=password).render_as_string(hide_password=False)
