"""The ``healthnet`` command line. A thin shell: each command loads a node home and calls
into the library; async work, when there is any, runs under ``asyncio.run``."""

from __future__ import annotations

import gc
import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from federation import keys
from federation.errors import HealthnetError
from node import cli_federation, cli_schemas, tokens
from node.db import exports, migrate
from node.db.engine import make_engine
from node.db.session import DatabaseError, Session, writer
from node.db.setup import open_database
from node.errors import ConfigError
from node.home import init_home, remove_home_files
from node.home import load_key as _load_key
from node.importer import detect_kind, run_import
from node.runtime import utc_now
from node.settings import NodeSettings
from node.verifier import verify_lines
from schemas.geo import Region

app = typer.Typer(
    help="healthnet: a node of the Health Social Media Network's directory.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
token_app = typer.Typer(help="Bearer tokens for the admin API.", no_args_is_help=True)
app.add_typer(token_app, name="token")
cli_federation.register(app)
cli_schemas.register(app)

# soft_wrap: an error names a path or a key whole, whatever the terminal's width (a log,
# a pipe, CI), so it can be read and copied; the terminal wraps it, not rich.
out = Console()
err = Console(stderr=True, soft_wrap=True)

HomeArg = Annotated[Path, typer.Argument(help="The node home directory")]


def _readable_file(path: Path) -> None:
    """Refuse a missing path or a directory with one plain line (exit 2, a usage error),
    instead of click's boxed message, which wraps mid-phrase in a narrow terminal."""
    if not path.exists():
        err.print(f"[red]error:[/] {escape(str(path))} does not exist")
        raise typer.Exit(2)
    if not path.is_file():
        err.print(f"[red]error:[/] {escape(str(path))} is not a file")
        raise typer.Exit(2)


def load_key(settings: NodeSettings) -> keys.SigningKey:
    try:
        return _load_key(settings)
    except HealthnetError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc


def _settings(home: Path) -> NodeSettings:
    try:
        return NodeSettings.load(home)
    except ConfigError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    logging.getLogger(migrate.LOGGER).setLevel(logging.WARNING)  # migrations are routine here
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def init(
    home: HomeArg,
    name: Annotated[str, typer.Option(help="The organization that runs this node")],
    region: Annotated[Region, typer.Option(help="The region this node publishes")],
    url: Annotated[str, typer.Option(help="Base URL where peers and members reach this node")],
    database_url: Annotated[
        str, typer.Option(help="PostgreSQL URL; default: SQLite in the home")
    ] = "",
    hub: Annotated[
        bool, typer.Option("--hub", help="This node is the hub (roster authority)")
    ] = False,
    hub_url: Annotated[str, typer.Option(help="A regional node: the hub's URL")] = "",
    hub_key: Annotated[str, typer.Option(help="A regional node: the hub's public key")] = "",
    leader: Annotated[str, typer.Option(help="The organization leading this node")] = "",
    latitude: Annotated[float | None, typer.Option(help="Where the node is (nearest node)")] = None,
    longitude: Annotated[float | None, typer.Option(help="Where the node is")] = None,
    placeholder: Annotated[bool, typer.Option(help="Leader not yet appointed")] = False,
) -> None:
    """Create a node home: signing key (mode 0600), config file and database.

    ``--hub`` makes the network's hub, which publishes the roster; a regional node is given
    the hub's URL and public key (``--hub-url``, ``--hub-key``) or joins later.
    """
    try:
        settings = init_home(
            home,
            name=name,
            region=region,
            url=url,
            database_url=database_url,
            hub=hub,
            hub_url=hub_url,
            hub_key=hub_key,
            leader=leader,
            latitude=latitude,
            longitude=longitude,
            placeholder=placeholder,
        )
    except (HealthnetError, ValueError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    try:
        open_database(settings.db_url, origin=settings.node_id)
        key = load_key(settings)
    except (HealthnetError, DatabaseError) as exc:
        remove_home_files(settings)  # so that a corrected `init` can run again
        err.print(f"[red]error:[/] cannot open the database: {escape(str(exc).splitlines()[0])}")
        raise typer.Exit(2) from exc
    out.print(f"node id:    {settings.node_id}")
    out.print(f"public key: {key.public_b64} ({key.key_id})")
    out.print(f"home:       {settings.home}")


@app.command()
def info(home: HomeArg) -> None:
    """Print the node id, region, URL and public key."""
    settings = _settings(home)
    key = load_key(settings)
    out.print_json(
        json.dumps(
            {
                "node_id": settings.node_id,
                "name": settings.name,
                "region": settings.region.value,
                "url": settings.url,
                "key_id": key.key_id,
                "public_key": key.public_b64,
            }
        )
    )


@app.command()
def serve(
    home: HomeArg,
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port; default: the one in the node URL")] = None,
) -> None:
    """Serve the node's API with uvicorn."""
    import uvicorn

    from node.app import create_app

    settings = _settings(home)
    if port is None:
        from urllib.parse import urlsplit

        port = urlsplit(settings.url).port or 8100
    app = create_app(settings)
    gc.freeze()  # start-up objects never die: keep the collector from re-scanning them
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=settings.log_level,
        proxy_headers=False,
    )


@app.command("migrate")
def migrate_cmd(home: HomeArg) -> None:
    """Upgrade the database schema to the current version (safe to repeat)."""
    settings = _settings(home)
    engine = open_database(settings.db_url, origin=settings.node_id)
    out.print(f"database at revision {migrate.current(engine)}")


@token_app.command("create")
def token_create(
    home: HomeArg,
    role: Annotated[tokens.Role, typer.Option(help="admin or editor")] = tokens.Role.EDITOR,
    label: Annotated[str, typer.Option(help="Who or what holds it")] = "",
) -> None:
    """Create a bearer token and print it once. Only its hash is stored."""
    settings = _settings(home)
    engine = open_database(settings.db_url, origin=settings.node_id)
    with Session(writer(engine), expire_on_commit=False) as session:
        row, plaintext = tokens.create_token(session, role=role, label=label, now=utc_now())
        session.commit()
    err.print(f"token {row.id} ({row.role}) created; it is shown only now:")
    print(plaintext)  # noqa: T201  (stdout, so it can be captured by a script)


@token_app.command("revoke")
def token_revoke(home: HomeArg, token_id: Annotated[str, typer.Argument(help="Token id")]) -> None:
    """Revoke a token at once."""
    settings = _settings(home)
    with Session(writer(make_engine(settings.db_url))) as session:
        try:
            tokens.revoke_token(session, token_id=token_id, now=utc_now())
        except HealthnetError as exc:
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from exc
        session.commit()
    out.print(f"token {token_id} revoked")


@token_app.command("list")
def token_list(home: HomeArg) -> None:
    """List tokens (ids, roles, labels; never secrets)."""
    settings = _settings(home)
    table = Table("id", "role", "label", "created", "revoked")
    with Session(make_engine(settings.db_url)) as session:
        for t in tokens.list_tokens(session):
            table.add_row(t.id, t.role, t.label, t.created_at, t.revoked_at or "")
    out.print(table)


@app.command("import")
def import_cmd(
    home: HomeArg,
    file: Annotated[Path, typer.Argument(help="CSV or JSONL", show_default=False)],
    kind: Annotated[str | None, typer.Option(help="member or event; default: detected")] = None,
) -> None:
    """Import members or events. Bad rows are reported by line; good rows are kept."""
    _readable_file(file)
    settings = _settings(home)
    engine = open_database(settings.db_url, origin=settings.node_id)
    key = load_key(settings)
    kind = kind or detect_kind(file)
    if kind not in ("member", "event"):
        err.print("[red]error:[/] --kind is member or event")
        raise typer.Exit(2)
    total = sum(1 for line in file.open(encoding="utf-8-sig") if line.strip())
    total -= 0 if file.suffix.lower() in (".jsonl", ".ndjson", ".json") else 1
    with Progress(
        TextColumn("importing {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as progress:
        task = progress.add_task(f"{kind}s", total=max(total, 0))
        report = run_import(
            engine,
            path=file,
            kind=kind,
            key=key,
            origin=settings.node_id,
            region=settings.region.value,
            clock=utc_now,
            progress=lambda n: progress.advance(task, n),
        )
    for error in report.errors:
        err.print(str(error), style="red", markup=False, highlight=False, soft_wrap=True)
    out.print(
        f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.rejected_rows} rejected",
        soft_wrap=True,
    )
    if report.errors:
        raise typer.Exit(1)


@app.command()
def export(
    home: HomeArg,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Default: stdout")] = None,
) -> None:
    """Write every signed record this node holds as JSONL, ordered by origin and sequence."""
    settings = _settings(home)
    engine = make_engine(settings.db_url)
    sink = output.open("w", encoding="utf-8") if output else sys.stdout
    count = 0
    try:
        with Session(engine) as session:
            for line in exports.envelopes(session):
                sink.write(line + "\n")
                count += 1
    finally:
        if output:
            sink.close()
    err.print(f"exported {count} records")


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="An export (JSONL)", show_default=False)],
    key: Annotated[
        list[str],
        typer.Option(
            help="Public key (base64url); key id is ed25519:1 unless given as ID=KEY",
            show_default=False,
        ),
    ],
) -> None:
    """Verify every record of an export offline; name each one that fails."""
    _readable_file(file)
    public: dict[str, Ed25519PublicKey] = {}
    for item in key:
        key_id, _, text = item.rpartition("=") if "=" in item else ("ed25519:1", "", item)
        try:
            public[key_id or "ed25519:1"] = keys.public_key(text, field="--key")
        except HealthnetError as exc:
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(2) from exc
    with file.open(encoding="utf-8") as fh:
        verdict = verify_lines(fh, public)
    for failure in verdict.failures:
        out.print("FAIL " + failure, style="red", markup=False, highlight=False, soft_wrap=True)
    out.print(f"{verdict.checked} records checked, {len(verdict.failures)} failures")
    if not verdict.ok:
        raise typer.Exit(1)


if __name__ == "__main__":  # `python -m node.cli`: how the demo starts its node processes
    app()
