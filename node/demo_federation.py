"""The demo federation: six node homes on this machine, their ``serve`` processes, the
hub's roster, the sample data, and the checks that every node agrees.

The hub and the five continental nodes (deploy/demo.toml) each run as their own
``healthnet serve`` process, with their own key, database and port. The hub admits each
node through its roster and each node imports its region's sample data (deploy/sample/).
Each process is started in its own session and stopped by PID; a home that exists is
resumed, never remade (no new keys, no re-seeding). ``node.demo`` runs it for the command.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from node import operator, roster, tokens
from node.db.session import Engine, Session, writer
from node.db.setup import open_database
from node.demo_terminal import Say, StopSignals, progress
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
TOKEN_FILE = "demo-token"  # the demo's admin token in plain text (0600): demo data only
LOG_NAME = "serve.log"
START_TIMEOUT = 240.0  # seconds for all six to answer /healthz (a busy 2-core machine)
STOP_TIMEOUT = 10.0  # seconds per node after SIGTERM, then SIGKILL


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
    def __init__(
        self, data: Path, port_base: int, topology: list[DemoNode], say: Say, signals: StopSignals
    ):
        self.data = data
        self.port_base = port_base
        self.topology = topology
        self.say = say
        self.signals = signals
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def hub(self) -> DemoNode:
        return self.topology[0]

    @property
    def writer_node(self) -> DemoNode:
        """The node the printed token writes to: the first led one (Europe), else the hub."""
        return next((n for n in self.topology[1:] if not n.placeholder), self.hub)

    def url(self, node: DemoNode) -> str:
        return f"http://127.0.0.1:{self.port_base + node.offset}"

    def home(self, node: DemoNode) -> Path:
        return self.data / node.key

    def log(self, node: DemoNode) -> Path:
        return self.home(node) / LOG_NAME

    # -- set-up -----------------------------------------------------------------------
    def resume(self) -> None:
        """Say which nodes a ``--data`` directory already holds; they keep their ports."""
        found = [n for n in self.topology if (self.home(n) / CONFIG_NAME).exists()]
        if not found:
            return
        self.say(
            f"resuming the {len(found)} demo nodes found in {self.data} "
            f"({', '.join(n.key for n in found)}): their keys, databases and records are kept"
        )
        if (self.home(self.hub) / CONFIG_NAME).exists():
            port = urlsplit(NodeSettings.load(self.home(self.hub)).url).port
            stored = (port or self.port_base) - self.hub.offset
            if stored != self.port_base:
                self.say(f"they were made for --port-base {stored}, so they keep those ports")
                self.port_base = stored

    def init_homes(self) -> None:
        for node in self.topology:
            home = self.home(node)
            if (home / CONFIG_NAME).exists():
                continue
            hub_home = self.home(self.hub)
            hub_key = "" if node.hub else load_key(NodeSettings.load(hub_home)).public_b64
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
                hub_url="" if node.hub else self.url(self.hub),
                hub_key=hub_key,
            )
            open_database(settings.db_url, origin=settings.node_id).dispose()
            self.say(f"created {node.key}: {settings.node_id}")

    def start(self) -> None:
        env = dict(os.environ)
        env.update(
            HEALTHNET_SYNC_INTERVAL_SECONDS="3",
            HEALTHNET_SYNC_JITTER_SECONDS="1",
            HEALTHNET_LOG_LEVEL="warning",
            PYTHONUNBUFFERED="1",
        )
        self.say(
            f"starting {len(self.topology)} node processes; each loads the whole application, "
            "which can take a minute on a small machine"
        )
        for node in self.topology:
            argv = [sys.executable, "-m", "node.cli", "serve", str(self.home(node))]
            with self.log(node).open("ab") as log, self.signals.held():
                # Its own session: Ctrl-C in the terminal reaches the demo alone, which
                # stops each node by PID, in order, and waits for it.
                self.procs[node.key] = subprocess.Popen(
                    [*argv, "--port", str(self.port_base + node.offset)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
        self.say("pids: " + ", ".join(f"{k} {p.pid}" for k, p in self.procs.items()))
        with progress(self.say, "starting") as update:
            self._wait_healthy(update)

    def _wait_healthy(self, update: Callable[[str], None]) -> None:
        start = time.monotonic()
        waiting = list(self.topology)
        while True:
            for node in list(waiting):
                proc = self.procs[node.key]
                if proc.poll() is not None:
                    self.tail(node)
                    raise NodeUnreachable(f"{node.key} exited ({proc.returncode}) while starting")
                if _healthy(self.url(node)):
                    waiting.remove(node)
                    self.say(
                        f"{node.key} is up: {self.url(node)} "
                        f"(pid {proc.pid}, {time.monotonic() - start:.0f} s)"
                    )
            if not waiting:
                return
            if time.monotonic() - start > START_TIMEOUT:
                for node in waiting:
                    self.tail(node)
                raise NodeUnreachable(
                    f"{', '.join(n.key for n in waiting)} did not answer within "
                    f"{START_TIMEOUT:.0f} s"
                )
            up = f"{len(self.topology) - len(waiting)}/{len(self.topology)} up"
            # The names once few are left, so the line fits a narrow terminal.
            update(up + (f", waiting for {', '.join(n.key for n in waiting)}" * (len(waiting) < 4)))
            time.sleep(0.25)

    @contextmanager
    def database(self, node: DemoNode) -> Iterator[tuple[NodeSettings, Engine]]:
        settings = NodeSettings.load(self.home(node))
        engine = open_database(settings.db_url, origin=settings.node_id)
        try:
            yield settings, engine
        finally:
            engine.dispose()

    def admit_all(self) -> None:
        with self.database(self.hub) as (settings, engine):
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
                self.say(f"admitted {node.key} into the hub's roster")

    def seed(self) -> None:
        for node in self.topology:
            if (self.home(node) / SEEDED).exists():
                continue
            with self.database(node) as (settings, engine):
                for kind in ("members", "events"):
                    path = SAMPLES / f"{node.region.value}-{kind}.csv"
                    if path.exists():
                        report = run_import(
                            engine,
                            path=path,
                            kind=kind[:-1],
                            key=load_key(settings),
                            origin=settings.node_id,
                            region=settings.region.value,
                            clock=utc_now,
                        )
                        self.say(f"seeded {node.key}: {report.created} {kind}")
            (self.home(node) / SEEDED).write_text("seeded\n")

    def token(self, node: DemoNode | None = None) -> str:
        """A node's admin token (the writer node's by default). Only its hash is in the
        database, so the demo keeps the plain token in its own data (mode 0600) to show it
        again on a resumed run."""
        node = node or self.writer_node
        path = self.home(node) / TOKEN_FILE
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        with self.database(node) as (_settings, engine):
            with Session(writer(engine), expire_on_commit=False) as session:
                _row, plaintext = tokens.create_token(
                    session, role=tokens.Role.ADMIN, label="healthnet demo", now=utc_now()
                )
                session.commit()
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as fh:
            fh.write(plaintext + "\n")
        return plaintext

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

    def rows(self) -> list[tuple[str, ...]]:
        return [
            (n.key, n.region.value, self.url(n), n.leader + (" (placeholder)" * n.placeholder))
            for n in self.topology
        ]

    def how_to_write(self) -> None:
        node = self.writer_node
        member = {"name": "Demo Hospital", "kind": "hospital", "region": node.region.value}
        member["country"] = _a_country(node)
        where = self.home(node) / TOKEN_FILE
        self.say.how_to_write(node.key, self.url(node), self.token(), where, member)
        consoles = [(n.key, f"{self.url(n)}/admin", self.token(n)) for n in self.topology]
        self.say.consoles(consoles)

    def tail(self, node: DemoNode, lines: int = 15) -> None:
        """The end of a failed node's log, shown before a temporary directory goes."""
        try:
            text = self.log(node).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return
        self.say(f"--- the end of {node.key}'s log ---")
        for line in text.splitlines()[-lines:]:
            self.say(line)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for key, proc in self.procs.items():
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT)
            self.say(f"stopped {key} (pid {proc.pid})")


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _a_country(node: DemoNode) -> str:
    """A country of the node's region, for the sample curl line: one its sample data uses."""
    path = SAMPLES / f"{node.region.value}-members.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return next(csv.DictReader(fh))["country"]
