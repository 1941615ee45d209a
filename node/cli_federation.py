"""``healthnet`` commands for federation: the hub's roster, keys, peers and sync."""

from __future__ import annotations

import asyncio
import gc
import json
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from federation.errors import HealthnetError
from node import operator, roster
from node.db.session import Session
from node.db.setup import open_database
from node.errors import ConfigError, NodeUnreachable, NoRoster
from node.runtime import utc_now
from node.settings import NodeSettings
from schemas.roster import NodeStatus

out = Console()
err = Console(stderr=True, soft_wrap=True)  # errors read whole at any width
roster_app = typer.Typer(
    help="The hub's roster of nodes (run on the hub's home).", no_args_is_help=True
)
key_app = typer.Typer(help="The node's signing key.", no_args_is_help=True)

HomeArg = Annotated[Path, typer.Argument(help="The node home directory")]


def _load(home: Path) -> tuple[NodeSettings, Any]:
    try:
        settings = NodeSettings.load(home)
    except ConfigError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    return settings, open_database(settings.db_url, origin=settings.node_id)


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[red]error:[/] {exc}")
    return typer.Exit(1)


def _fetch_node(url: str) -> dict[str, Any]:
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
    settings, engine = _load(home)
    with Session(engine) as session:
        trust = roster.load_trust(session, settings)
    if trust is None:
        raise _fail(NoRoster("this node holds no roster"))
    table = Table(
        "node id", "name", "region", "status", "url", "keys", title=f"roster v{trust.version}"
    )
    for node in trust.nodes.values():
        keys = ", ".join(
            f"{k.key_id} [{k.from_seq}..{k.until_seq or ''}]"
            + (" revoked" if k.status == "revoked" else "")
            for k in node.keys
        )
        name = node.name + (" (placeholder)" if node.placeholder else "")
        table.add_row(node.node_id, name, node.region.value, node.status.value, node.url, keys)
    out.print(table)


@roster_app.command("add")
def roster_add(
    home: HomeArg,
    node_url: Annotated[str, typer.Argument(help="The node's base URL")],
    key: Annotated[str, typer.Option(help="The node's public key, obtained out of band")],
) -> None:
    """Admit a node: fetch what it presents at NODE_URL/node and check it against --key."""
    settings, engine = _load(home)
    try:
        info = _fetch_node(node_url)
        version = operator.admit(engine, settings, info, expected_key=key, now=utc_now())
    except HealthnetError as exc:
        raise _fail(exc) from exc
    out.print(f"admitted {info['node_id']} ({info['name']}, {info['region']}): roster v{version}")


def _status(home: Path, node_id: str, status: NodeStatus) -> None:
    settings, engine = _load(home)
    try:
        version = operator.set_status(engine, settings, node_id, status, now=utc_now())
    except HealthnetError as exc:
        raise _fail(exc) from exc
    out.print(f"{node_id} is {status.value}: roster v{version}")


@roster_app.command("suspend")
def roster_suspend(home: HomeArg, node_id: str) -> None:
    """Refuse the node's new records until it is restored."""
    _status(home, node_id, NodeStatus.SUSPENDED)


@roster_app.command("revoke")
def roster_revoke(home: HomeArg, node_id: str) -> None:
    """Remove the node from the network: its new records are refused everywhere."""
    _status(home, node_id, NodeStatus.REVOKED)


@roster_app.command("restore")
def roster_restore(home: HomeArg, node_id: str) -> None:
    """Make a suspended or revoked node active again."""
    _status(home, node_id, NodeStatus.ACTIVE)


@roster_app.command("rotate")
def roster_rotate(
    home: HomeArg,
    node_id: str,
    key: Annotated[str, typer.Option(help="The node's new public key, obtained out of band")],
) -> None:
    """List a node's rotated key (after it ran `healthnet key rotate`)."""
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
        raise _fail(exc) from exc
    out.print(
        f"{node_id} signs with {info['key_id']} from seq {info['key_from_seq']}: roster v{version}"
    )


@key_app.command("rotate")
def key_rotate(home: HomeArg) -> None:
    """Make a new signing key; records signed before stay valid. Restart the node after."""
    settings, engine = _load(home)
    try:
        key_id, public, from_seq = operator.rotate_own_key(engine, settings, now=utc_now())
    except HealthnetError as exc:
        raise _fail(exc) from exc
    out.print(f"new key {key_id}, valid from seq {from_seq}: {public}", soft_wrap=True)
    if not settings.hub:
        out.print(
            "ask the hub to list it: healthnet roster rotate HUB_DIR "
            f"{settings.node_id} --key {public}",
            soft_wrap=True,
        )
    out.print("restart the node to sign with it")


def join(
    home: HomeArg,
    hub_url: Annotated[str, typer.Option(help="The hub's base URL")],
    hub_key: Annotated[str, typer.Option(help="The hub's public key, obtained out of band")],
) -> None:
    """Pin the hub of the network; the node then fetches and follows its roster."""
    settings, _ = _load(home)
    try:
        operator.update_config(settings, hub_url=hub_url, hub_key=hub_key)
    except ValueError as exc:
        raise _fail(exc) from exc
    out.print(f"{settings.node_id} now follows the hub at {hub_url}; give the hub operator:")
    out.print(
        f"  healthnet roster add HUB_DIR {settings.url} --key {_public(settings)}", soft_wrap=True
    )


def _public(settings: NodeSettings) -> str:
    from node.home import load_key

    return load_key(settings).public_b64


def peers(home: HomeArg) -> None:
    """Sync health per peer, as the running node reports it."""
    settings, _ = _load(home)
    try:
        status = httpx.get(settings.url + "/federation/status", timeout=10).json()
    except (httpx.HTTPError, json.JSONDecodeError) as exc:
        raise _fail(NodeUnreachable(f"the node at {settings.url} does not answer: {exc}")) from exc
    table = Table(
        "peer", "region", "healthy", "last success", "failures", "lag", "agrees", "last error"
    )
    for p in status["peers"]:
        lag = sum(o["lag"] for o in p["origins"].values())
        agrees = all(o["agrees"] for o in p["origins"].values()) if p["origins"] else False
        table.add_row(
            p["name"],
            p["region"],
            "yes" if p["healthy"] else "NO",
            p["last_success"] or "never",
            str(p["failures"]),
            str(lag),
            "yes" if agrees else "no",
            p["last_error"][:60],
        )
    out.print(table)
    q = status["quarantine"]
    out.print(f"quarantine: {q['total']} {q['by_reason']}; alarms: {len(status['alarms'])}")


def sync(
    home: HomeArg,
    now: Annotated[bool, typer.Option("--now", help="Pull from every peer now")] = False,
) -> None:
    """Pull from every peer once, now, ignoring backoff."""
    if not now:
        err.print("nothing to do: pass --now (the running node also syncs on its own schedule)")
        raise typer.Exit(2)
    from node import sync as sync_service

    settings, engine = _load(home)
    gc.freeze()  # start-up objects never die: keep the collector from re-scanning them

    async def run() -> list[Any]:
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=3.0)) as http:
            with Progress(
                SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err
            ) as progress:
                task = progress.add_task("bootstrapping roster", total=None)
                pulling = {"name": ""}  # whom the progress line names while a page lands
                sync = sync_service.build(
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
                    await sync.puller.bootstrap()
                    results = []
                    done: set[str] = set()
                    # Pulling the hub may admit peers this run had not seen: a second pass
                    # pulls those (and only those).
                    for _ in range(2):
                        for peer in [p for p in sync.trust.peers() if p.node_id not in done]:
                            done.add(peer.node_id)
                            pulling["name"] = peer.name
                            progress.update(task, description=f"pulling from {peer.name}")
                            results.append(await sync.puller.pull(peer, force=True))
                    return results
                finally:
                    sync.puller.close()

    results = asyncio.run(run())
    failed = 0
    for r in results:
        mark = "ok" if r.ok else "FAILED"
        failed += 0 if r.ok else 1
        out.print(
            f"{r.peer}: {mark}, {r.applied} applied, {r.rejected} rejected"
            + (f", {r.error}" if r.error else "")
            + "".join(f"; {s}" for s in r.stopped)
        )
    raise typer.Exit(1 if failed and failed == len(results) else 0)


def resync(home: HomeArg, origin: Annotated[str, typer.Argument(help="Origin node id")]) -> None:
    """Forget everything held of ORIGIN and pull it again from scratch (run `sync --now`)."""
    settings, engine = _load(home)
    try:
        removed = operator.resync_origin(engine, settings, origin)
    except HealthnetError as exc:
        raise _fail(exc) from exc
    out.print(f"dropped {removed} records of {origin}; the next pull fetches them again")


def demo(
    port_base: Annotated[int, typer.Option(help="The hub's port; the others follow it")] = 8100,
    data: Annotated[
        Path | None, typer.Option(help="Keep the nodes here (a second run resumes)")
    ] = None,
    topology: Annotated[Path | None, typer.Option(help="Default: deploy/demo.toml")] = None,
    exit_when_synced: Annotated[
        bool, typer.Option(help="Stop once all nodes agree (for scripts)")
    ] = False,
) -> None:
    """Start a local federation: the hub and five continental nodes on 127.0.0.1."""
    from node import demo as demo_module

    try:
        code = demo_module.run(
            data,
            port_base,
            topology or demo_module.DEFAULT_TOPOLOGY,
            exit_when_synced=exit_when_synced,
            console=out,
        )
    except HealthnetError as exc:
        raise _fail(exc) from exc
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.add_typer(roster_app, name="roster")
    app.add_typer(key_app, name="key")
    app.command()(join)
    app.command()(peers)
    app.command()(sync)
    app.command()(resync)
    app.command()(demo)
