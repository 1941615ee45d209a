"""``healthnet init``, ``info``, ``serve`` and ``migrate``: a node home and its server."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from node import cli_console as console
from node.cli_console import REGIONS, HomeArg
from schemas.geo import Region

if TYPE_CHECKING:
    from pathlib import Path

    from node.settings import NodeSettings


def init(
    home: HomeArg,
    name: Annotated[
        str, typer.Option(metavar="NAME", help="The organization that runs this node.")
    ],
    region: Annotated[
        Region, typer.Option(metavar="REGION", help=f"The region it publishes: {REGIONS}.")
    ],
    url: Annotated[
        str,
        typer.Option(
            metavar="URL", help="Base URL where peers and members reach it, such as https://..."
        ),
    ],
    database_url: Annotated[
        str,
        typer.Option(
            metavar="URL",
            help="PostgreSQL, as postgresql+psycopg://user@host/db. Default: SQLite in HOME.",
        ),
    ] = "",
    hub: Annotated[
        bool, typer.Option("--hub", help="This node is the hub, which keeps the roster.")
    ] = False,
    hub_url: Annotated[
        str, typer.Option(metavar="URL", help="A regional node: the hub's base URL.")
    ] = "",
    hub_key: Annotated[
        str, typer.Option(metavar="KEY", help="A regional node: the hub's public key.")
    ] = "",
    leader: Annotated[
        str, typer.Option(metavar="NAME", help="The organization leading this node.")
    ] = "",
    latitude: Annotated[
        float | None, typer.Option(metavar="DEGREES", help="Where it is, for nearest node.")
    ] = None,
    longitude: Annotated[
        float | None, typer.Option(metavar="DEGREES", help="Where it is (with --latitude).")
    ] = None,
    placeholder: Annotated[
        bool, typer.Option("--placeholder", help="Its leader is not yet appointed.")
    ] = False,
) -> None:
    """Create a node home: signing key, config file and database.

    The key is written with mode 0600 and never leaves HOME. --hub makes the network's
    hub, which publishes the roster; a regional node is given the hub's URL and public
    key (--hub-url, --hub-key), or joins later with `healthnet join`.
    """
    from federation.errors import HealthnetError
    from node.db.session import DatabaseError
    from node.db.setup import open_database
    from node.home import init_home, remove_home_files

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
    except HealthnetError as exc:
        console.fail(exc, 2)
    try:
        open_database(settings.db_url, origin=settings.node_id)
    except (HealthnetError, DatabaseError) as exc:
        remove_home_files(settings)  # so that a corrected `init` can run again
        console.fail(f"cannot open the database: {str(exc).splitlines()[0]}", 2)
    key = console.signing_key(settings)
    console.say(f"node id:    {settings.node_id}")
    console.say(f"public key: {key.public_b64} ({key.key_id})")
    console.say(f"home:       {settings.home}")


def info(home: HomeArg) -> None:
    """Print the node's id, name, region, URL, public key and its fingerprint (JSON).

    The fingerprint is what the hub's operator reads back when approving this node's
    join request (`healthnet join`).
    """
    from federation.joining import fingerprint

    settings = console.settings(home)
    key = console.signing_key(settings)
    console.out.print_json(
        json.dumps(
            {
                "node_id": settings.node_id,
                "name": settings.name,
                "region": settings.region.value,
                "url": settings.url,
                "key_id": key.key_id,
                "public_key": key.public_b64,
                "fingerprint": fingerprint(key.public_b64),
            }
        )
    )


def serve(
    home: HomeArg,
    host: Annotated[str, typer.Option(metavar="ADDRESS", help="Interface to listen on.")] = (
        "127.0.0.1"
    ),
    port: Annotated[
        int | None, typer.Option(metavar="PORT", help="Default: the port of the node's URL.")
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            metavar="N",
            help="Worker processes on this port; one of them runs the scheduled pulls.",
        ),
    ] = 1,
) -> None:
    """Serve the node: its API, pages and federation, with uvicorn.

    With --workers N, N processes share the port and the database; every one answers
    requests and nudges, and exactly one at a time runs the scheduled pulls (see "Several
    workers and replicas" in docs/OPERATIONS.md).
    """
    import gc
    import os
    from urllib.parse import urlsplit

    import uvicorn

    from node.app import SERVE_HOME_ENV, create_app
    from node.metrics import MULTIPROC_ENV

    settings = console.settings(home)
    if port is None:
        port = urlsplit(settings.url).port or 8100

    def run(app: Any, **extra: Any) -> None:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=settings.log_level,
            proxy_headers=settings.proxy_headers,
            forwarded_allow_ips=settings.forwarded_allow_ips,
            server_header=False,  # names the software to every scanner; peers need bytes less
            **extra,
        )

    if workers == 1:
        app = create_app(settings)
        gc.freeze()  # start-up objects never die: keep the collector from re-scanning them
        run(app)
        return
    # Migrate and seed once, here, before the workers start, so that N of them do not run
    # the migrations at the same moment; each worker then finds the schema current.
    _prepare(settings)
    os.environ[SERVE_HOME_ENV] = str(settings.home)  # the workers inherit it
    os.environ[MULTIPROC_ENV] = str(_metrics_dir(settings.home))
    run("node.app:app_from_env", factory=True, workers=workers)


def _metrics_dir(home: Path) -> Path:
    """An empty directory for the workers' metric files (node.metrics): emptied at each
    start, as prometheus_client asks, so a counter counts from this start of the node."""
    path = home / "metrics"
    path.mkdir(mode=0o700, exist_ok=True)
    for old in path.glob("*.db"):
        old.unlink()
    return path


def _prepare(settings: NodeSettings) -> None:
    """What ``create_app`` does to the database before serving: migrations, the node's own
    sequence row and (on the hub) the first roster."""
    from node import roster
    from node.db.session import Session, writer
    from node.runtime import utc_now

    engine = console.database(settings)
    try:
        with Session(writer(engine)) as session:
            roster.ensure_roster(
                session, settings=settings, key=console.signing_key(settings), now=utc_now()
            )
            session.commit()
    finally:
        engine.dispose()


def migrate(home: HomeArg) -> None:
    """Upgrade the database schema (safe to repeat)."""
    from node.db import migrate as migrations

    engine = console.database(console.settings(home))
    console.say(f"database at revision {migrations.current(engine)}")
