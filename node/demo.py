"""``healthnet demo``: a real local federation on 127.0.0.1, from one command.

The hub and the five continental nodes (deploy/demo.toml) each run as their own
``healthnet serve`` process, with their own key, database and port. The hub admits each
node through its roster, each node imports its region's sample data (deploy/sample/), and
the command shows sync progress until every node holds every origin's records with the
same digest. Ctrl-C, ``kill`` or closing the terminal stops every process it started, by
PID (node/demo_terminal.py), and removes the temporary directory it made. With ``--data DIR``
the homes persist and a second run says it resumes them (no new keys, no re-seeding).

What it prints is what a newcomer needs next: where the data and the logs are, each node
as it comes up (six processes loading the application take most of a minute on a small
machine), the URLs whole at any width, and a token with a curl line that writes.
"""

from __future__ import annotations

import csv
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from rich.console import Console

from node import operator, roster, tokens
from node.db.session import Engine, Session, writer
from node.db.setup import open_database
from node.demo_terminal import Say, Stopped, StopSignals, progress
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
                    raise NodeUnreachable(
                        f"{node.key} exited ({proc.returncode}); see {self.log(node)}"
                    )
                if _healthy(self.url(node)):
                    waiting.remove(node)
                    self.say(
                        f"{node.key} is up: {self.url(node)} "
                        f"(pid {proc.pid}, {time.monotonic() - start:.0f} s)"
                    )
            if not waiting:
                return
            if time.monotonic() - start > START_TIMEOUT:
                raise NodeUnreachable(
                    f"{', '.join(n.key for n in waiting)} did not answer within "
                    f"{START_TIMEOUT:.0f} s; see {self.data}/NODE/{LOG_NAME}"
                )
            up = len(self.topology) - len(waiting)
            update(f"{up}/{len(self.topology)} up, waiting for {', '.join(n.key for n in waiting)}")
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

    def token(self) -> str:
        """The writer node's admin token. Only its hash is in the database, so the demo
        keeps the plain token in its own data (mode 0600) to show it again on a resumed run."""
        path = self.home(self.writer_node) / TOKEN_FILE
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        with self.database(self.writer_node) as (_settings, engine):
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
        node, token = self.writer_node, self.token()
        member = {"name": "Demo Hospital", "kind": "hospital", "region": node.region.value}
        member["country"] = _a_country(node)
        curl = shlex.join(
            [
                "curl", "-X", "POST", f"{self.url(node)}/admin/members",
                "-H", f"Authorization: Bearer {token}",
                "-H", "Content-Type: application/json",
                "-d", json.dumps(member),
            ]
        )  # fmt: skip
        where = self.home(node) / TOKEN_FILE
        self.say(f"admin token for {node.key} ({self.url(node)}), kept in {where}:")
        self.say(f"  {token}")
        self.say("write a member with it:")
        self.say(f"  {curl}")
        self.say(f"API and sign-in: {self.url(node)}/docs (Authorize, then paste the token)")

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


def run(
    data: Path | None,
    port_base: int,
    topology: Path,
    *,
    exit_when_synced: bool,
    console: Console,
    timeout: float = 180.0,
) -> int:
    """Run the demo under ``data`` (a new temporary directory when None, removed at the end;
    a directory the user gave is never removed) until a stop signal, or until every node
    agrees with ``exit_when_synced``. The exit status: 0, or 1 when a node failed."""
    say = Say(console)
    nodes = load_topology(topology)
    ignored = sorted(k for k in os.environ if k.startswith("HEALTHNET_"))
    for name in ignored:  # a real node's HEALTHNET_DATABASE_URL must not reach six demo nodes
        del os.environ[name]
    if ignored:
        say(f"ignoring {', '.join(ignored)}: the demo's nodes use only their own homes")
    with StopSignals() as signals:
        with signals.held():
            root = Path(tempfile.mkdtemp(prefix="healthnet-demo-")) if data is None else data
        root = root.resolve()
        demo = Demo(root, port_base, nodes, say, signals)
        try:
            return _run(demo, temporary=data is None, exit_when_synced=exit_when_synced,
                        timeout=timeout)  # fmt: skip
        except (Stopped, KeyboardInterrupt) as exc:
            name = exc.args[0] if isinstance(exc, Stopped) else "SIGINT"
            say(f"{name}: stopping the federation")
            return 0
        finally:
            signals.stopping = True
            demo.stop()
            if data is None:
                shutil.rmtree(root, ignore_errors=True)
                say(f"removed {root}" if not root.exists() else f"could not remove {root}")


def _run(demo: Demo, *, temporary: bool, exit_when_synced: bool, timeout: float) -> int:
    say, hub = demo.say, demo.hub
    kept = "temporary: removed when the demo stops" if temporary else "kept: --data again resumes"
    say(f"healthnet demo: the hub and {len(demo.topology) - 1} regional nodes on 127.0.0.1")
    say(f"data: {demo.data} ({kept})")
    names = ", ".join(n.key for n in demo.topology)
    say(f"logs: {demo.data}/NODE/{LOG_NAME}, one per node (NODE: {names})")
    demo.resume()
    demo.data.mkdir(parents=True, exist_ok=True)
    demo.init_homes()
    demo.start()
    demo.admit_all()
    demo.seed()
    with progress(say, "syncing") as update:
        ok = demo.wait_in_sync(timeout, update)
    say.table("healthnet demo federation", ("node", "region", "URL", "leader"), demo.rows())
    if not ok:
        say(f"the nodes did not agree in time; see {demo.data}/NODE/{LOG_NAME}", style="red")
        return 1
    say("all nodes agree: every node serves the whole world's directory")
    say(f"worldwide view (hub): {demo.url(hub)}/world")
    demo.how_to_write()
    if exit_when_synced:
        return 0
    say(
        f"Ctrl-C, closing this terminal or `kill {os.getpid()}` stops all "
        f"{len(demo.topology)} nodes" + (" and removes the data" if temporary else "")
    )
    while all(p.poll() is None for p in demo.procs.values()):
        time.sleep(1)
    failed = [k for k, p in demo.procs.items() if p.poll() is not None]
    say(f"{', '.join(failed)} exited; stopping the others (see {LOG_NAME})", style="red")
    return 1
