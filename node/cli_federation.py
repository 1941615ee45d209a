"""``healthnet`` commands of the network: sync, peers, the hub's roster, keys, and the
local demo federation (joining is node/cli_joins.py). Heavy imports happen inside each
command (see node/cli_console.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from node import cli_console as console
from node.cli_console import KEY_HELP, HomeArg
from node.errors import NodeUnreachable, NoRoster

if TYPE_CHECKING:
    from node.db.session import Engine
    from node.settings import NodeSettings
    from node.sync.pulls import PullResult

roster_app = typer.Typer(
    help="The hub's roster of nodes (run on the hub).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
key_app = typer.Typer(
    help="The node's signing key: rotate.", no_args_is_help=True, rich_markup_mode=None
)

NodeIdArg = Annotated[
    str, typer.Argument(metavar="NODE_ID", help="As `roster show` lists it.", show_default=False)
]
KeyOption = Annotated[str, typer.Option(metavar="KEY", help=f"The node's public key, {KEY_HELP}.")]


def _load(home: Path) -> tuple[NodeSettings, Engine]:
    settings = console.settings(home)
    return settings, console.database(settings)


def _fetch_node(url: str) -> dict[str, Any]:
    import json

    import httpx

    try:
        response = httpx.get(url.rstrip("/") + "/node", timeout=10)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data
    except (httpx.HTTPError, json.JSONDecodeError) as exc:
        raise NodeUnreachable(f"cannot read {url}/node: {exc}") from exc


@roster_app.command("show")
def roster_show(home: HomeArg) -> None:
    """List the nodes of the roster this node holds."""
    from node import roster
    from node.cli_listings import roster_lines
    from node.db.session import Session

    settings, engine = _load(home)
    with Session(engine) as session:
        trust = roster.load_trust(session, settings)
    if trust is None:
        console.fail("this node holds no roster yet (a regional node fetches it from the hub)")
    for line in roster_lines(trust.version, list(trust.nodes.values())):
        console.say(line)


@roster_app.command("add")
def roster_add(
    home: HomeArg,
    node_url: Annotated[
        str, typer.Argument(metavar="NODE_URL", help="The node's base URL.", show_default=False)
    ],
    key: KeyOption,
) -> None:
    """Admit a node: check what NODE_URL/node presents against --key, then list it."""
    from federation.errors import HealthnetError
    from node import operator
    from node.runtime import utc_now

    console.public_key(key)
    settings, engine = _load(home)
    try:
        info = _fetch_node(node_url)
        version = operator.admit(engine, settings, info, expected_key=key, now=utc_now())
    except HealthnetError as exc:
        console.fail(exc)
    console.say(f"admitted {info['node_id']} ({info['name']}, {info['region']}): roster v{version}")


def _status(home: Path, node_id: str, status: str) -> None:
    from federation.errors import HealthnetError
    from node import operator
    from node.runtime import utc_now
    from schemas.roster import NodeStatus

    settings, engine = _load(home)
    try:
        version = operator.set_status(engine, settings, node_id, NodeStatus(status), now=utc_now())
    except HealthnetError as exc:
        console.fail(exc)
    console.say(f"{node_id} is {status}: roster v{version}")


@roster_app.command("suspend")
def roster_suspend(home: HomeArg, node_id: NodeIdArg) -> None:
    """Refuse the node's new records until it is restored."""
    _status(home, node_id, "suspended")


@roster_app.command("revoke")
def roster_revoke(home: HomeArg, node_id: NodeIdArg) -> None:
    """Remove the node: its new records are refused everywhere."""
    _status(home, node_id, "revoked")


@roster_app.command("restore")
def roster_restore(home: HomeArg, node_id: NodeIdArg) -> None:
    """Make a suspended or revoked node active again."""
    _status(home, node_id, "active")


@roster_app.command("rotate")
def roster_rotate(home: HomeArg, node_id: NodeIdArg, key: KeyOption) -> None:
    """List a node's new key (after it ran `healthnet key rotate`)."""
    from federation.errors import HealthnetError
    from node import operator, roster
    from node.db.session import Session
    from node.runtime import utc_now

    console.public_key(key)
    settings, engine = _load(home)
    try:
        with Session(engine) as session:
            trust = roster.load_trust(session, settings)
        if trust is None:
            raise NoRoster("this node holds no roster")
        info = _fetch_node(trust.node(node_id).url)
        version = operator.rotate_listed_key(
            engine, settings, node_id, info, expected_key=key, now=utc_now()
        )
    except HealthnetError as exc:
        console.fail(exc)
    console.say(
        f"{node_id} signs with {info['key_id']} from seq {info['key_from_seq']}: roster v{version}"
    )


@key_app.command("rotate")
def key_rotate(home: HomeArg) -> None:
    """Make a new signing key; records signed before stay valid. Restart the node after."""
    from federation.errors import HealthnetError
    from node import operator
    from node.runtime import utc_now

    settings, engine = _load(home)
    try:
        key_id, public, from_seq = operator.rotate_own_key(engine, settings, now=utc_now())
    except HealthnetError as exc:
        console.fail(exc)
    console.say(f"new key {key_id}, valid from seq {from_seq}: {public}")
    if not settings.hub:
        console.say(
            f"ask the hub to list it: healthnet roster rotate HUB_HOME {settings.node_id}"
            f" --key {public}"
        )
    console.say("restart the node to sign with it")


def peers(home: HomeArg) -> None:
    """Sync health per peer, as the running node reports it."""
    import json

    import httpx

    from node.cli_listings import peer_lines

    settings = console.settings(home)
    try:
        status = httpx.get(settings.url + "/federation/status", timeout=10).json()
    except (httpx.HTTPError, json.JSONDecodeError) as exc:
        console.fail(f"the node at {settings.url} does not answer ({exc}); is it serving?")
    for line in peer_lines(status):
        console.say(line)


def evidence(
    home: HomeArg,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the proofs themselves, one per line.")
    ] = False,
) -> None:
    """Show the equivocation proofs this node holds, each checked again here.

    A proof is two headers one origin signed that cannot both be in its log (a split
    view). Anyone can check it with the origin's key; the hub acts on it with `healthnet
    roster suspend`.
    """
    import json

    from node import roster
    from node.db import evidence as held_evidence
    from node.db.engine import make_engine
    from node.db.session import Session
    from node.evidence_lines import proof_lines

    settings = console.settings(home)
    engine = make_engine(settings.db_url)
    try:
        with Session(engine) as session:
            proofs = held_evidence.held(session, limit=1000)
            trust = roster.load_trust(session, settings)
    finally:
        engine.dispose()
    if as_json:
        for item in proofs:
            console.out.print(json.dumps(item.proof), markup=False, highlight=False, soft_wrap=True)
        return
    for line in proof_lines(proofs, trust, hub=bool(settings.hub)):
        console.say(line)


def sync(
    home: HomeArg,
    now: Annotated[bool, typer.Option("--now", hidden=True)] = True,  # the old spelling
) -> None:
    """Pull from every peer once, now, ignoring backoff.

    The running node also pulls on its own schedule; this is for an operator who does
    not want to wait, or for a node that is not serving.
    """
    del now
    import asyncio
    import gc

    settings, engine = _load(home)
    gc.freeze()  # start-up objects never die: keep the collector from re-scanning them
    results = asyncio.run(_pull_all(settings, engine))
    failed = 0
    for r in results:
        failed += 0 if r.ok else 1
        console.say(
            f"{r.peer}: {'ok' if r.ok else 'FAILED'}, {r.applied} applied, {r.rejected} rejected"
            + (f", {r.error}" if r.error else "")
            + "".join(f"; {s}" for s in r.stopped)
        )
    if not results:
        console.say("no peers to pull from: the roster lists no other active node")
    raise typer.Exit(1 if failed and failed == len(results) else 0)


async def _pull_all(settings: NodeSettings, engine: Engine) -> list[PullResult]:
    import time

    import httpx
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from node import sync as sync_service
    from node.runtime import utc_now

    async with sync_service.peer_http(settings, timeout=httpx.Timeout(30.0, connect=3.0)) as http:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console.err,
        ) as progress:
            task = progress.add_task("bootstrapping roster", total=None)
            pulling = {"name": ""}  # whom the progress line names while a page lands
            service = sync_service.build(
                engine=engine,
                settings=settings,
                clock=utc_now,
                monotonic=time.monotonic,
                http=http,
                on_page=lambda origin, r: progress.update(
                    task, description=f"{pulling['name']}: {origin} up to seq {r.tip}"
                ),
            )
            try:
                await service.puller.bootstrap()
                results = []
                done: set[str] = set()
                # Pulling the hub may admit peers this run had not seen: a second pass
                # pulls those (and only those).
                for _ in range(2):
                    for peer in [p for p in service.trust.peers() if p.node_id not in done]:
                        done.add(peer.node_id)
                        pulling["name"] = peer.name
                        progress.update(task, description=f"pulling from {peer.name}")
                        # A running server may be pulling this peer: wait for it (up to
                        # an interval), then pull what it did not (node.sync.locks).
                        pull = service.puller.pull(
                            peer, force=True, patience=settings.sync_interval_seconds
                        )
                        results.append(await pull)
                return results
            finally:
                service.puller.close()


def resync(
    home: HomeArg,
    origin: Annotated[
        str, typer.Argument(metavar="ORIGIN", help="The origin's node id.", show_default=False)
    ],
) -> None:
    """Forget an origin's records, to pull them again.

    Every record held of ORIGIN is dropped; the next pull fetches them from scratch.
    """
    from federation.errors import HealthnetError
    from node import operator

    settings, engine = _load(home)
    try:
        removed = operator.resync_origin(engine, settings, origin)
    except HealthnetError as exc:
        console.fail(exc)
    console.say(f"dropped {removed} records of {origin}; `healthnet sync HOME` fetches them now")


def demo(
    port_base: Annotated[
        int, typer.Option(metavar="PORT", help="The hub's port; the other nodes follow it.")
    ] = 8100,
    data: Annotated[
        Path | None,
        typer.Option(metavar="DIR", help="Keep the nodes here; a second run resumes them."),
    ] = None,
    topology: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Default: deploy/demo.toml.")
    ] = None,
    exit_when_synced: Annotated[
        bool, typer.Option("--exit-when-synced", help="Stop once all nodes agree (scripts).")
    ] = False,
) -> None:
    """Run a local network of six nodes on 127.0.0.1.

    The hub and five continental nodes, admitted, seeded with sample members and
    events, and watched until they agree. Ctrl-C stops them all.
    """
    from federation.errors import HealthnetError
    from node import demo as demo_module

    try:
        code = demo_module.run(
            data,
            port_base,
            topology or demo_module.DEFAULT_TOPOLOGY,
            exit_when_synced=exit_when_synced,
            console=console.out,
        )
    except HealthnetError as exc:
        console.fail(exc)
    raise typer.Exit(code)
