"""The node home: config file, signing key and (by default) the SQLite database.

This is the only module that reads or writes key files. Keys are written with mode 0600
inside a 0700 directory, and loading refuses a key that others can read, the way ssh does,
because a leaked key lets anyone publish records in this node's name.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import tomli_w
from pydantic import ValidationError

from federation import keys
from federation.keys import SigningKey
from node.errors import ConfigError
from node.settings import CONFIG_NAME, NodeSettings, describe, key_file
from schemas.geo import Region


def init_home(
    home: Path,
    *,
    name: str,
    region: Region,
    url: str,
    database_url: str = "",
    **federation: object,
) -> NodeSettings:
    """Create a node home with a fresh key. Refuses to overwrite an existing one.

    ``federation`` takes the optional settings ``hub`` (this node is the roster authority),
    ``hub_url`` and ``hub_key`` (a regional node pins the hub), ``leader``, ``latitude``,
    ``longitude`` and ``placeholder``.
    """
    home = home.resolve()
    if home.exists() and not home.is_dir():
        raise ConfigError(f"{home} is a file, not a directory: name a new or empty directory")
    if (home / CONFIG_NAME).exists():
        raise ConfigError(f"{home} already holds a node ({CONFIG_NAME} exists)")
    key = keys.generate("ed25519:1")
    config: dict[str, object] = {
        "node_id": keys.node_id_for(key.public_raw),
        "name": name,
        "region": region.value,
        "url": url.rstrip("/"),
        "key_id": key.key_id,
    }
    if database_url:
        config["database_url"] = database_url
    config.update({k: v for k, v in federation.items() if v not in (None, "", False)})
    # Validate everything before writing anything: a refused option leaves no key behind.
    try:
        settings = NodeSettings.model_validate({"home": home, **config})
    except ValidationError as exc:
        raise ConfigError(describe(exc, {k: "--" + k.replace("_", "-") for k in config})) from exc
    try:
        home.mkdir(parents=True, exist_ok=True)
        if key_file(home, key.key_id).exists():
            raise ConfigError(f"{home} already holds a signing key; refusing to replace it")
        written = write_key(home, key)
        try:
            (home / CONFIG_NAME).write_text(tomli_w.dumps(config), encoding="utf-8")
        except OSError:
            written.unlink(missing_ok=True)  # so that a corrected `init` can run again
            raise
    except OSError as exc:
        # Permission denied, a parent that is a file, a read-only disk: said in one line.
        where = exc.filename or home
        raise ConfigError(f"cannot create the node home at {where}: {exc.strerror}") from exc
    return settings


def remove_home_files(settings: NodeSettings) -> None:
    """Undo ``init_home`` (its config and key) when the rest of ``init`` failed."""
    (settings.home / CONFIG_NAME).unlink(missing_ok=True)
    settings.key_path.unlink(missing_ok=True)


def write_key(home: Path, key: SigningKey) -> Path:
    path = key_file(home, key.key_id)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(keys.to_pem(key))
    return path


def load_key(settings: NodeSettings) -> SigningKey:
    path = settings.key_path
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise ConfigError(f"signing key {path} is missing") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"signing key {path} is readable by others; run: chmod 600 {path}")
    return keys.from_pem(path.read_bytes(), settings.key_id)
