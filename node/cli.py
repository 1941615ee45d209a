"""The ``healthnet`` command line: the commands, in the order a newcomer meets them.

A thin shell: each command loads a node home and calls into the library, and imports
that library only when it runs (node/cli_console.py says why). Help and errors are
click's plain text (``rich_markup_mode=None``): no boxes to cut a message at 80 columns,
and no rich help renderer to import before the first line appears.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from node import cli_data, cli_federation, cli_home, cli_joins, cli_schemas


class _InOrder(TyperGroup):
    """Lists commands and groups in the order they are added below (typer puts every
    group after every command)."""

    order: list[str] = []

    def list_commands(self, ctx: Any) -> list[str]:  # a click Context (typer vendors click)
        known = [name for name in self.order if name in self.commands]
        return known + sorted(set(self.commands) - set(known))


app = typer.Typer(
    cls=_InOrder,
    help="healthnet: a node of the Health Social Media Network's directory.\n\n"
    "Start with `healthnet init HOME ...`, `healthnet token create HOME`, "
    "`healthnet import HOME FILE` and `healthnet serve HOME`; or try the whole network "
    "on this machine with `healthnet demo`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

# The order of `healthnet --help`: a node's first hour, then its data, then the network.
app.command()(cli_home.init)
app.add_typer(cli_data.token_app, name="token")
app.command("import")(cli_data.import_file)
app.command()(cli_home.serve)
app.command()(cli_home.info)
app.command()(cli_data.export)
app.command()(cli_data.verify)
app.command()(cli_home.migrate)
app.command()(cli_joins.join)
app.command("join-status")(cli_joins.join_status)
app.command()(cli_federation.sync)
app.command()(cli_federation.peers)
app.command()(cli_federation.evidence)
app.command()(cli_federation.resync)
app.add_typer(cli_federation.roster_app, name="roster")
app.add_typer(cli_federation.key_app, name="key")
app.command()(cli_federation.demo)
app.command()(cli_schemas.schemas)
_InOrder.order = [
    "init", "token", "import", "serve", "info", "export", "verify", "migrate",
    "join", "join-status", "sync", "peers", "resync", "roster", "key", "demo", "schemas",
]  # fmt: skip


@app.callback()
def main(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log debug detail to stderr.")
    ] = False,
) -> None:
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations are routine here
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


if __name__ == "__main__":  # `python -m node.cli`: how the demo starts its node processes
    app()
