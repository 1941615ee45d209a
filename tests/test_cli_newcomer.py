"""The ``healthnet`` command as a newcomer meets it: help that reads as words, errors in
one plain line at any width, the init path's failures, settings the environment must
not change, keys that say what a key looks like, and listings that fit 80 columns."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from click.testing import Result
from support.cli import hn
from support.rosters import key, rkey, rnode

from node import cli
from node.cli_listings import counted, peer_lines, roster_lines
from schemas.geo import Region
from schemas.roster import KeyStatus, NodeStatus

URL = "http://127.0.0.1:8101"
ROOT = Path(__file__).resolve().parents[1]
PYTHON_METAVAR = re.compile(r"<(str|bool|int|float|list\[str\]|path)>")


def init(home: Path, *extra: object, code: int | None = 0) -> Result:
    args = ("init", home, "--name", "Radboud UMC", "--region", "europe", "--url", URL)
    return hn(*args, *extra, code=code)


def run(*args: object, columns: int = 40) -> subprocess.CompletedProcess[str]:
    """The real command in its own process, with no terminal and a narrow width."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHNET_")}
    environ.update({"COLUMNS": str(columns), "NO_COLOR": "1"})
    return subprocess.run(
        [sys.executable, "-m", "node.cli", *map(str, args)],
        capture_output=True, text=True, env=environ, cwd=ROOT, timeout=120, check=False,
    )  # fmt: skip


def _commands() -> list[tuple[list[str], typer.core.TyperCommand]]:
    """Every command of the tree with its path, groups' subcommands included."""
    root = typer.main.get_command(cli.app)
    found = []

    def walk(path: list[str], command: object) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk([*path, name], sub)
        else:
            found.append((path, command))

    walk([], root)
    return found  # type: ignore[return-value]


# help --------------------------------------------------------------------------------


def test_the_tree_has_every_command() -> None:
    names = {" ".join(path) for path, _ in _commands()}
    assert {"init", "token create", "import", "serve", "sync", "roster add", "key rotate"} <= names
    assert len(names) > 20


@pytest.mark.parametrize("path", [p for p, _ in _commands()], ids=" ".join)
def test_every_option_has_help_and_a_metavar_in_words(path: list[str]) -> None:
    result = hn(*path, "--help")
    text = result.stdout
    assert not PYTHON_METAVAR.search(text.split("Options:")[-1]), text
    assert "``" not in text  # reST markup reads as noise in a terminal
    command = dict((" ".join(p), c) for p, c in _commands())[" ".join(path)]
    for param in command.params:
        if param.param_type_name == "option" and not param.hidden and param.name != "help":
            assert param.help, f"{' '.join(path)} {param.opts} has no help"


def test_help_lists_the_first_hour_first() -> None:
    listed = re.findall(r"^  ([a-z]+)  ", hn("--help").stdout, re.M)
    assert listed[:4] == ["init", "token", "import", "serve"]
    assert listed.index("demo") > listed.index("roster")


# errors at any width --------------------------------------------------------------------


def test_our_errors_are_one_whole_line_in_a_narrow_pipe(tmp_path: Path) -> None:
    missing = tmp_path / ("a-rather-long-directory-name-" * 3) / "home"
    result = run("info", missing, columns=40)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [f"error: {missing} is not a healthnet node home (no healthnet.toml)"]


def test_usage_errors_are_plain_lines_without_boxes(tmp_path: Path) -> None:
    result = run("init", tmp_path / "home", "--region", "europe", columns=30)
    assert result.returncode == 2
    assert "Error: Missing option '--name'." in result.stderr.splitlines()
    assert not re.search("[╭╰│─]", result.stderr)


def test_a_mistyped_region_names_the_choices() -> None:
    result = hn("init", "/tmp/unused", "--name", "x", "--url", URL, "--region", "mars", code=2)
    assert "mars" in result.stderr and "europe" in result.stderr


# init's failures ---------------------------------------------------------------------


def test_init_inside_a_file_says_so_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    result = init(tmp_path / "file" / "home", code=2)
    assert result.stderr.strip() == (
        f"error: cannot create the node home at {tmp_path / 'file' / 'home'}: Not a directory"
    )
    result = init(tmp_path / "file", code=2)
    assert "is a file, not a directory" in result.stderr


def test_init_where_nothing_can_be_created_says_why() -> None:
    # /proc takes no new directories, even from root: FileNotFoundError underneath.
    result = init(Path("/proc/healthnet-test-home"), code=2)
    assert result.stderr.startswith("error: cannot create the node home at /proc/")
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_init_in_a_read_only_directory_says_permission_denied(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    result = init(locked / "home", code=2)
    assert "Permission denied" in result.stderr


def test_a_bad_hub_key_says_what_a_key_looks_like(tmp_path: Path) -> None:
    result = init(tmp_path / "home", "--hub-url", URL, "--hub-key", "not-a-key", code=2)
    line = result.stderr.strip()
    assert line.startswith("error: --hub-key: 'not-a-key' is not a public key")
    assert "43 characters of base64url" in line and "healthnet info" in line
    assert "pydantic" not in line and "\n" not in line
    assert not (tmp_path / "home").exists()  # nothing half-made


def test_a_bad_url_says_what_a_url_looks_like(tmp_path: Path) -> None:
    line = init(tmp_path / "home", "--url", "ftp://x", code=2).stderr.strip()
    assert "is not a base URL" in line and "https://" in line


def test_healthnet_toml_ends_with_a_newline(tmp_path: Path) -> None:
    init(tmp_path / "home")
    assert (tmp_path / "home" / "healthnet.toml").read_bytes().endswith(b"\n")


# the environment may tune a node, never re-point it ----------------------------------


def test_the_environment_cannot_move_the_home_or_change_the_node_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init(tmp_path / "home")
    before = json.loads(hn("info", tmp_path / "home").stdout)
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.setenv("HEALTHNET_HOME", str(other))
    monkeypatch.setenv("HEALTHNET_NODE_ID", "hn-aaaaaaaaaaaaaaaaaaaaaaaa")
    monkeypatch.setenv("HEALTHNET_NAME", "Renamed by the environment")
    after = json.loads(hn("info", tmp_path / "home").stdout)
    assert after["node_id"] == before["node_id"]
    assert after["name"] == "Renamed by the environment"  # the rest may be tuned
    assert list(other.iterdir()) == []


def test_a_bad_setting_in_the_environment_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init(tmp_path / "home")
    monkeypatch.setenv("HEALTHNET_URL", "not a url")
    line = hn("info", tmp_path / "home", code=2).stderr.strip()
    assert "HEALTHNET_" in line and "url: 'not a url' is not a base URL" in line


# keys ------------------------------------------------------------------------------------


def test_verify_with_a_mistyped_key_says_what_a_key_looks_like(tmp_path: Path) -> None:
    export = tmp_path / "export.jsonl"
    export.write_text("")
    line = hn("verify", export, "--key", "abc", code=2).stderr.strip()
    assert line == (
        "error: --key: 'abc' is not a public key; a key is 43 characters of base64url, "
        "as `healthnet info HOME` prints it (public_key)"
    )


def test_roster_add_checks_the_key_before_it_calls_anyone(tmp_path: Path) -> None:
    init(tmp_path / "hub", "--hub")
    result = hn("roster", "add", tmp_path / "hub", "http://127.0.0.1:9", "--key", "x" * 10, code=2)
    assert "is not a public key" in result.stderr and "cannot read" not in result.stderr


# sync ------------------------------------------------------------------------------------


def test_sync_runs_without_now_and_still_takes_it(tmp_path: Path) -> None:
    init(tmp_path / "hub", "--hub")
    for args in (("sync", tmp_path / "hub"), ("sync", tmp_path / "hub", "--now")):
        result = hn(*args)
        assert "no peers to pull from" in result.stdout


# listings ---------------------------------------------------------------------------------


def _status(**peer: object) -> dict[str, object]:
    base = {
        "node_id": "hn-" + "b" * 24, "name": "Radboud UMC", "region": "europe",
        "url": "https://healthnet.radboudumc.example.org", "healthy": True,
        "last_success": "2026-12-06T10:00:00Z", "failures": 0, "last_error": "",
        "origins": {"hn-x": {"lag": 2, "agrees": False}, "hn-y": {"lag": 1, "agrees": True}},
    }  # fmt: skip
    return {"peers": [{**base, **peer}], "quarantine": {"total": 0, "by_reason": {}}, "alarms": []}


def test_peer_lines_keep_ids_and_urls_whole_within_80_columns() -> None:
    lines = peer_lines(_status())
    assert "Radboud UMC (europe): healthy" in lines
    assert any(
        "hn-" + "b" * 24 in x and "https://healthnet.radboudumc.example.org" in x for x in lines
    )
    assert any("3 records behind" in x and "does not agree" in x for x in lines)
    assert all(len(x) <= 80 for x in lines if "://" not in x)
    assert lines[-2:] == ["quarantine: none", "alarms: none"]


def test_peer_lines_name_failures_and_errors() -> None:
    lines = peer_lines(_status(healthy=False, failures=3, last_error="timed out"))
    assert "Radboud UMC (europe): NOT HEALTHY" in lines
    assert "    failures:     3 in a row" in lines
    assert "    last error:   timed out" in lines


def test_quarantine_counts_read_as_words() -> None:
    assert counted(0, {}) == "none"
    assert counted(1, {"bad-signature": 1}) == "1 record (bad-signature: 1)"
    assert counted(3, {"out-of-scope": 1, "bad-signature": 2}) == (
        "3 records (bad-signature: 2, out-of-scope: 1)"
    )


def test_roster_lines_show_every_key_whole() -> None:
    k1, k2 = key(1), key(2, "ed25519:2")
    node = rnode("hn-" + "c" * 24, Region.EUROPE,
                 [rkey(k1, until_seq=41, status=KeyStatus.REVOKED), rkey(k2, from_seq=42)],
                 status=NodeStatus.SUSPENDED)  # fmt: skip
    lines = roster_lines(3, [node])
    assert lines[0] == "roster v3: 1 node"
    assert lines[1].endswith("(europe): suspended")
    first = lines.index("    key:  ed25519:1, seq 1 to 41, revoked")
    assert lines[first + 1] == f"          {k1.public_b64}"  # whole, to copy
    second = lines.index("    key:  ed25519:2, from seq 42")
    assert lines[second + 1] == f"          {k2.public_b64}"
    assert all(len(x) <= 80 for x in lines)
