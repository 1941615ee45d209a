"""``healthnet demo``: a real local federation on 127.0.0.1, from one command.

The hub and the five continental nodes (deploy/demo.toml) each run as their own
``healthnet serve`` process, with their own key, database and port. The hub admits each
node through its roster, each node imports its region's sample data (deploy/sample/), and
the command shows sync progress until every node holds every origin's records with the
same digest. Ctrl-C stops every process it started, by PID. With ``--data DIR`` the homes
persist and a second run resumes (no new keys, no re-seeding).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from node import operator, roster
from node.db.session import Session
from node.db.setup import open_database
from node.errors import ConfigError, NodeUnreachable
from node.home import init_home, load_key
from node.importer import run_import
from node.runtime import utc_now
from node.settings import CONFIG_NAME, NodeSettings
from schemas.geo import Region

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TOPOLOGY = REPO / "deploy" / "demo.toml"
SAMPLES = REPO / "deploy" / "sample"
SEEDED = ".demo-seeded"


@dataclass(frozen=True)
class DemoNode:
    key: str
    name: str
    leader: str
    region: Region
    offset: int
    latitude: float
    longitude: float
    hub: bool = False
    placeholder: bool = False


def load_topology(path: Path) -> list[DemoNode]:
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    nodes = [DemoNode(**{**n, "region": Region(n["region"])}) for n in data["node"]]
    if sum(n.hub for n in nodes) != 1:
        raise ConfigError(f"{path}: exactly one node must be the hub")
    return sorted(nodes, key=lambda n: (not n.hub, n.offset))


class Demo:
    def __init__(self, data: Path, port_base: int, topology: list[DemoNode], console: Console):
        self.data = data
        self.port_base = port_base
        self.topology = topology
        self.console = console
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def url(self, node: DemoNode) -> str:
        return f"http://127.0.0.1:{self.port_base + node.offset}"

    def home(self, node: DemoNode) -> Path:
        return self.data / node.key

    # -- set-up -----------------------------------------------------------------------
    def init_homes(self) -> None:
        hub = self.topology[0]
        for node in self.topology:
            home = self.home(node)
            if (home / CONFIG_NAME).exists():
                continue
            hub_key = "" if node.hub else load_key(NodeSettings.load(self.home(hub))).public_b64
            settings = init_home(
                home,
                name=node.name,
                region=node.region,
                url=self.url(node),
                leader=node.leader,
                latitude=node.latitude,
                longitude=node.longitude,
                placeholder=node.placeholder,
                hub=node.hub,
                hub_url="" if node.hub else self.url(hub),
                hub_key=hub_key,
            )
            open_database(settings.db_url, origin=settings.node_id)
            self.console.print(f"created {node.key}: {settings.node_id}")

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHNET_")}
        env.update(
            HEALTHNET_SYNC_INTERVAL_SECONDS="3",
            HEALTHNET_SYNC_JITTER_SECONDS="1",
            HEALTHNET_LOG_LEVEL="warning",
        )
        for node in self.topology:
            home = self.home(node)
            log = (home / "serve.log").open("ab")
            self.procs[node.key] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "node.cli",
                    "serve",
                    str(home),
                    "--port",
                    str(self.port_base + node.offset),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        for node in self.topology:
            self._wait_healthy(node)

    def _wait_healthy(self, node: DemoNode) -> None:
        for _ in range(300):  # at most 30 s per node
            proc = self.procs[node.key]
            if proc.poll() is not None:
                raise NodeUnreachable(
                    f"{node.key} exited ({proc.returncode}); see {self.home(node) / 'serve.log'}"
                )
            try:
                if httpx.get(self.url(node) + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise NodeUnreachable(f"{node.key} did not come up on {self.url(node)}")

    def admit_all(self) -> None:
        hub = self.topology[0]
        settings = NodeSettings.load(self.home(hub))
        engine = open_database(settings.db_url, origin=settings.node_id)
        with Session(engine) as session:
            held = roster.current(session, hub=settings.node_id)
        listed = {n.node_id for n in held[0].nodes} if held else set()
        for node in self.topology[1:]:
            node_settings = NodeSettings.load(self.home(node))
            if node_settings.node_id in listed:
                continue
            info = httpx.get(self.url(node) + "/node", timeout=10).json()
            # The key given "out of band": read from the node's own home on this machine.
            expected = load_key(node_settings).public_b64
            operator.admit(engine, settings, info, expected_key=expected, now=utc_now())
            self.console.print(f"admitted {node.key} into the hub's roster")
        engine.dispose()

    def seed(self) -> None:
        for node in self.topology:
            home = self.home(node)
            if (home / SEEDED).exists():
                continue
            settings = NodeSettings.load(home)
            engine = open_database(settings.db_url, origin=settings.node_id)
            key = load_key(settings)
            for kind in ("members", "events"):
                path = SAMPLES / f"{node.region.value}-{kind}.csv"
                if not path.exists():
                    continue
                report = run_import(
                    engine,
                    path=path,
                    kind=kind[:-1],
                    key=key,
                    origin=settings.node_id,
                    region=settings.region.value,
                    clock=utc_now,
                )
                self.console.print(f"seeded {node.key}: {report.created} {kind}")
            engine.dispose()
            (home / SEEDED).write_text("seeded\n")

    # -- watching ---------------------------------------------------------------------
    def heads(self) -> dict[str, dict[str, tuple[int, str]]]:
        out: dict[str, dict[str, tuple[int, str]]] = {}
        for node in self.topology:
            try:
                data = httpx.get(self.url(node) + "/federation/heads", timeout=5).json()
            except (httpx.HTTPError, ValueError):
                continue
            out[node.key] = {o["origin"]: (o["last_seq"], o["digest"]) for o in data["origins"]}
        return out

    def wait_in_sync(self, timeout: float, report: Callable[[str], None]) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            heads = self.heads()
            if len(heads) == len(self.topology):
                union: dict[str, tuple[int, str]] = {}
                for held in heads.values():
                    for origin, head in held.items():
                        if head[0] > union.get(origin, (0, ""))[0]:
                            union[origin] = head
                synced = [k for k, held in heads.items() if held == union]
                report(
                    f"{len(synced)}/{len(heads)} nodes hold all {len(union)} origins "
                    f"({sum(h[0] for h in union.values())} records)"
                )
                if len(synced) == len(heads) and len(union) == len(self.topology):
                    return True
            time.sleep(0.5)
        return False

    def table(self) -> Table:
        table = Table("node", "region", "leader", "URL", title="healthnet demo federation")
        for node in self.topology:
            table.add_row(
                node.key,
                node.region.value,
                node.leader + (" (placeholder)" if node.placeholder else ""),
                self.url(node),
            )
        return table

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for key, proc in self.procs.items():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            self.console.print(f"stopped {key} (pid {proc.pid})")


def run(
    data: Path,
    port_base: int,
    topology: Path,
    *,
    exit_when_synced: bool,
    console: Console,
    timeout: float = 180.0,
) -> int:
    demo = Demo(data, port_base, load_topology(topology), console)
    demo.init_homes()
    try:
        demo.start()
        demo.admit_all()
        demo.seed()
        with console.status("syncing") as status:
            ok = demo.wait_in_sync(timeout, lambda text: status.update(f"syncing: {text}"))
        console.print(demo.table())
        if not ok:
            console.print("[red]the nodes did not agree in time[/]; see the serve.log files")
            return 1
        console.print("all nodes agree: every node serves the whole world's directory")
        console.print(f"worldwide view (hub): {demo.url(demo.topology[0])}/world")
        if exit_when_synced:
            return 0
        console.print("Ctrl-C stops the federation")
        while all(p.poll() is None for p in demo.procs.values()):
            time.sleep(1)
        console.print("[red]a node process exited[/]; stopping the others")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        demo.stop()
