"""What every ``healthnet`` command shares: its two consoles, the node home argument,
and loading a home with every problem said in one plain line.

The CLI starts fast because nothing here, and nothing at the top of the command
modules, imports the application (settings, database, federation, HTTP): each command
imports what it needs when it runs, so ``healthnet --help`` costs Python, typer and rich.
Errors are one line that rich never wraps (``soft_wrap``), so a path or a key reads
whole in a log, a pipe or a narrow terminal; the terminal wraps it, not the program.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from federation.keys import SigningKey
    from node.db.session import Engine
    from node.settings import NodeSettings

out = Console()
err = Console(stderr=True, soft_wrap=True)

HomeArg = Annotated[
    Path, typer.Argument(help="The node home directory.", metavar="HOME", show_default=False)
]
REGIONS = "north-america, europe, africa, asia, oceania or south-america"
# Said wherever a command takes a public key, so a mistyped one is fixed at once.
KEY_HELP = "43 characters of base64url, as `healthnet info HOME` prints it (public_key)"


def fail(message: object, code: int = 1) -> NoReturn:
    """End the command with ``error: message`` on stderr and exit ``code`` (2: the usage
    was wrong; 1: the work failed)."""
    err.print(f"[red]error:[/] {escape(str(message))}")
    raise typer.Exit(code)


def say(message: str) -> None:
    """A line of output, printed as is (no markup, no highlighting, never wrapped)."""
    out.print(message, markup=False, highlight=False, soft_wrap=True)


def settings(home: Path) -> NodeSettings:
    from node.errors import ConfigError
    from node.settings import NodeSettings

    try:
        return NodeSettings.load(home)
    except ConfigError as exc:
        fail(exc, 2)


def signing_key(settings: NodeSettings) -> SigningKey:
    from federation.errors import HealthnetError
    from node.home import load_key

    try:
        return load_key(settings)
    except HealthnetError as exc:
        fail(exc, 2)


def database(settings: NodeSettings) -> Engine:
    """The node's database, migrated to the current schema."""
    from federation.errors import HealthnetError
    from node.db.session import DatabaseError
    from node.db.setup import open_database

    try:
        return open_database(settings.db_url, origin=settings.node_id)
    except (HealthnetError, DatabaseError) as exc:
        fail(f"cannot open the database: {str(exc).splitlines()[0]}", 1)


def readable_file(path: Path) -> None:
    """Refuse a missing path or a directory in one line (exit 2, a usage error)."""
    if not path.exists():
        fail(f"{path} does not exist", 2)
    if not path.is_file():
        fail(f"{path} is not a file", 2)


def public_key(text: str, option: str = "--key") -> str:
    """``text`` when it is an Ed25519 public key; otherwise say what a key looks like."""
    from federation import keys
    from federation.errors import HealthnetError

    try:
        keys.public_key(text, field=option)
    except HealthnetError:
        fail(f"{option}: {text!r} is not a public key; a key is {KEY_HELP}", 2)
    return text
