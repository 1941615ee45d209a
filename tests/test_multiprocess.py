"""A federation of real node processes on 127.0.0.1: convergence, crash, partition, key
rotation, revocation and ``healthnet sync --now``.

Each node is ``healthnet serve`` in its own process with its own home and database (SQLite,
or PostgreSQL for the hub and Europe in one variant). Homes and editor tokens are made
in-process with the functions ``healthnet init`` and ``healthnet token create`` call (each
CLI run costs seconds of start-up; ``test_serve.py`` covers those two commands); every
operator action of the federation goes through the ``healthnet`` command itself: ``roster
add``, ``import``, ``key rotate``, ``roster rotate``, ``roster revoke``, ``peers``, ``sync``.

Nodes sync every second (``HEALTHNET_SYNC_INTERVAL_SECONDS=1``, no jitter). Every wait is a
bounded poll and every process is stopped by PID when its test (or, for the shared six-node
federation, the module) ends.

The six-node SQLite federation is shared by the tests that only add to it, in file order:
convergence, key rotation, ``sync --now``, then revocation (which removes Africa).
"""

from __future__ import annotations

import csv
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from pprint import pformat
from typing import Any

import httpx
import pytest
from sqlmodel import Session
from support.databases import BACKENDS, Databases, require_postgres_mark
from support.procs import (
    FAST_SYNC,
    HEALTHNET,
    NodeProc,
    Processes,
    child_env,
    cli,
    free_ports,
    poll_until,
)

from federation import keys
from federation.errors import BadSignature
from federation.signing import verify_envelope
from federation.trust import key_valid
from node import operator, roster, tokens
from node.db.engine import writer
from node.db.setup import open_database
from node.home import init_home, load_key
from node.runtime import utc_now
from schemas.geo import Region
from schemas.roster import RosterKey

pytestmark = pytest.mark.slow

CONVERGE_S = 30.0  # every convergence wait: poll at most this long
Heads = dict[str, tuple[int, int, str]]  # origin -> (last_seq, count, digest)


# --- the sites ---------------------------------------------------------------------------


def member(
    name: str, region: str, country: str, city: str, lat: float, lon: float
) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "hospital",
        "region": region,
        "country": country,
        "city": city,
        "latitude": lat,
        "longitude": lon,
        "topics": ["social media"],
        "languages": ["en"],
    }


@dataclass(frozen=True)
class Site:
    region: Region
    operator: str
    member: dict[str, Any]
    event: dict[str, Any] | None = None


SITES: dict[str, Site] = {
    "hub": Site(
        Region.NORTH_AMERICA,
        "Mayo Clinic",
        member("Mayo Clinic", "north-america", "US", "Rochester", 44.0225, -92.4668),
        {
            "title": "Health Social Media Summit",
            "kind": "conference",
            "region": "north-america",
            "timezone": "America/Chicago",
            "starts_at": "2027-10-12T09:00",
            "ends_at": "2027-10-12T17:00",
            "venue": {"city": "Rochester", "country": "US", "latitude": 44.02, "longitude": -92.47},
            "language": "en",
        },
    ),
    "europe": Site(
        Region.EUROPE,
        "Radboud UMC",
        member("Radboud University Medical Center", "europe", "NL", "Nijmegen", 51.8426, 5.8528),
        {
            "title": "Health Social Media Day Europe",
            "kind": "conference",
            "region": "europe",
            "timezone": "Europe/Amsterdam",
            "starts_at": "2027-03-10T09:00",
            "ends_at": "2027-03-10T17:00",
            "venue": {"city": "Nijmegen", "country": "NL", "latitude": 51.82, "longitude": 5.86},
            "language": "en",
        },
    ),
    "africa": Site(
        Region.AFRICA,
        "Africa community",
        member("Kenyatta National Hospital", "africa", "KE", "Nairobi", -1.3010, 36.8073),
    ),
    "asia": Site(
        Region.ASIA,
        "Asia community",
        member("St. Luke's International Hospital", "asia", "JP", "Tokyo", 35.6677, 139.7770),
    ),
    "oceania": Site(
        Region.OCEANIA,
        "Oceania community",
        member("Royal Prince Alfred Hospital", "oceania", "AU", "Sydney", -33.8893, 151.1831),
    ),
    "south-america": Site(
        Region.SOUTH_AMERICA,
        "South America community",
        member(
            "Hospital Israelita Albert Einstein",
            "south-america",
            "BR",
            "São Paulo",
            -23.5999,
            -46.7153,
        ),
    ),
}


# --- a federation of processes -----------------------------------------------------------


@dataclass
class Node:
    name: str
    proc: NodeProc
    node_id: str
    public_key: str
    token: str

    @property
    def url(self) -> str:
        return self.proc.url

    @property
    def home(self) -> Path:
        return self.proc.home

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(self.url + path, params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def status_of(self, path: str) -> int:
        return httpx.get(self.url + path, timeout=10).status_code

    def post(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/admin/{kind}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert response.status_code == 201, (self.name, response.status_code, response.text)
        data: dict[str, Any] = response.json()
        return data

    def heads(self) -> Heads:
        data = self.get("/federation/heads")
        return {o["origin"]: (o["last_seq"], o["count"], o["digest"]) for o in data["origins"]}

    def roster_version(self) -> int:
        return int(self.get("/federation/heads")["roster_version"])


class Federation:
    def __init__(self, procs: Processes, root: Path) -> None:
        self.procs = procs
        self.root = root
        self.nodes: dict[str, Node] = {}
        self.roster_version = 1

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    @property
    def hub(self) -> Node:
        return self.nodes["hub"]

    def create(
        self, name: str, port: int, *, database_url: str = "", env: dict[str, str] | None = None
    ) -> Node:
        """What `healthnet init` and `healthnet token create --role editor` do."""
        site = SITES[name]
        url = f"http://127.0.0.1:{port}"
        federation: dict[str, object] = (
            {"hub": True}
            if name == "hub"
            else {"hub_url": self.hub.url, "hub_key": self.hub.public_key}
        )
        home = self.root / name
        settings = init_home(
            home,
            name=site.operator,
            region=site.region,
            url=url,
            database_url=database_url,
            **federation,
        )
        engine = open_database(settings.db_url, origin=settings.node_id)
        try:
            key = load_key(settings)
            with Session(writer(engine)) as session:
                _, secret = tokens.create_token(
                    session, role=tokens.Role.EDITOR, label="multiprocess", now=utc_now()
                )
                session.commit()
        finally:
            engine.dispose()
        proc = self.procs.add(name, home, port, {**FAST_SYNC, **(env or {})})
        node = Node(name, proc, settings.node_id, key.public_b64, secret)
        self.nodes[name] = node
        return node

    def admit(self, *nodes: Node) -> None:
        """`healthnet roster add HUB URL --key KEY`, one node after the other (each must be up:
        the command reads its /node)."""
        for node in nodes:
            out = cli("roster", "add", self.hub.home, node.url, "--key", node.public_key).stdout
            found = re.search(r"admitted\s+(hn-[a-z2-7]{24}).*roster\s+v(\d+)", out, re.S)
            assert found and found[1] == node.node_id, out
            assert int(found[2]) == self.roster_version + 1, out
            self.roster_version = int(found[2])

    def start(self, *names: str) -> None:
        self.procs.start(*(self.nodes[n].proc for n in names))

    def stop(self, *names: str) -> None:
        self.procs.stop(*(self.nodes[n].proc for n in names))

    def logs(self) -> str:
        return "\n".join(f"--- {n.name}\n{n.proc.output(2500)}" for n in self.nodes.values())

    def wait_roster(self, version: int | None = None, names: list[str] | None = None) -> None:
        """Every (named) node follows roster ``version`` (default: the newest one)."""
        target = version or self.roster_version
        nodes = [self.nodes[n] for n in names or self.nodes]
        poll_until(
            lambda: all(n.roster_version() >= target for n in nodes),
            timeout=CONVERGE_S,
            what=f"roster v{target} on {[n.name for n in nodes]}",
            detail=self.logs,
        )

    def wait_converged(
        self, names: list[str] | None = None, origins: list[str] | None = None
    ) -> Heads:
        """Every (named) node holds the same (last_seq, count, digest) for every origin of
        ``origins`` (default: every node of the federation), with dense logs."""
        nodes = [self.nodes[n] for n in names or self.nodes]
        want = set(origins or [n.node_id for n in self.nodes.values()])
        seen: dict[str, Heads] = {}

        def probe() -> Heads | None:
            for n in nodes:
                seen[n.name] = n.heads()
            first = seen[nodes[0].name]
            if not want <= set(first):
                return None
            if all(seen[n.name] == first for n in nodes):
                return first
            return None

        heads = poll_until(
            probe,
            timeout=CONVERGE_S,
            what=f"convergence of {[n.name for n in nodes]}",
            detail=lambda: pformat(seen) + "\n" + self.logs(),
        )
        for origin, (last_seq, count, _) in heads.items():
            assert count == last_seq, f"{origin}: a log with holes ({count} of {last_seq})"
        return heads

    def has_member(self, name: str, member_id: str) -> bool:
        return self.nodes[name].status_of(f"/members/{member_id}") == 200


def build(
    procs: Processes,
    root: Path,
    names: list[str],
    *,
    database_urls: dict[str, str] | None = None,
    env: dict[str, dict[str, str]] | None = None,
) -> Federation:
    """Init every home, start every node, admit each regional node with `roster add`."""
    assert names[0] == "hub"
    fed = Federation(procs, root)
    ports = free_ports(len(names))
    for name, port in zip(names, ports, strict=True):
        fed.create(
            name,
            port,
            database_url=(database_urls or {}).get(name, ""),
            env=(env or {}).get(name),
        )
    fed.start(*names)
    fed.admit(*(fed.nodes[name] for name in names[1:]))
    fed.wait_roster()
    return fed


@dataclass
class Written:
    members: dict[str, str]  # node name -> id of its member
    events: dict[str, str]


def write_sites(fed: Federation) -> Written:
    """A member on every node, in its region; an event on the hub and on Europe."""
    written = Written({}, {})
    for name, node in fed.nodes.items():
        site = SITES[name]
        written.members[name] = node.post("members", site.member)["id"]
        if site.event is not None:
            written.events[name] = node.post("events", site.event)["id"]
    return written


def assert_directory(fed: Federation, written: Written) -> None:
    """Every node serves every region's members (and both events)."""
    for node in fed.nodes.values():
        for name, member_id in written.members.items():
            site = SITES[name]
            page = node.get("/members", region=site.region.value, limit=100)
            found = {m["id"]: m for m in page["items"]}
            assert member_id in found, (node.name, name, page)
            assert found[member_id]["name"] == site.member["name"]
            assert found[member_id]["origin"] == fed.nodes[name].node_id
        for name, event_id in written.events.items():
            page = node.get("/events", region=SITES[name].region.value, limit=100)
            assert event_id in {e["id"] for e in page["items"]}, (node.name, name, page)


# --- fixtures ------------------------------------------------------------------------------


@dataclass
class Six:
    fed: Federation
    written: Written


@pytest.fixture(scope="module")
def six(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Six]:
    """Hub and five regional nodes on SQLite, each with a member; events on two of them."""
    root = tmp_path_factory.mktemp("six")
    with Processes(root) as procs:
        fed = build(procs, root, list(SITES))
        yield Six(fed, write_sites(fed))


@pytest.fixture
def two_pg_urls(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """Two fresh PostgreSQL databases (as conftest's ``pg_url`` makes one)."""
    require_postgres_mark(request)
    databases = Databases(request.getfixturevalue("pg_server"))
    try:
        yield [databases.create(), databases.create()]
    finally:
        databases.drop_all()


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Processes]:
    with Processes(tmp_path) as p:
        yield p


# --- 1. six nodes converge -------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_six_nodes_converge(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if backend == "sqlite":
        six: Six = request.getfixturevalue("six")
        check_six(six.fed, six.written)
        return
    hub_db, europe_db = request.getfixturevalue("two_pg_urls")
    with Processes(tmp_path) as procs:
        fed = build(
            procs, tmp_path, list(SITES), database_urls={"hub": hub_db, "europe": europe_db}
        )
        assert fed.hub.get("/healthz")["database"] == "postgresql"
        assert fed["europe"].get("/healthz")["database"] == "postgresql"
        assert fed["asia"].get("/healthz")["database"] == "sqlite"
        check_six(fed, write_sites(fed))


def check_six(fed: Federation, written: Written) -> None:
    heads = fed.wait_converged()
    ids = {n.node_id: n.name for n in fed.nodes.values()}
    assert set(heads) == set(ids), heads
    for origin, (last_seq, _, _) in heads.items():
        expected = {"hub": 8, "europe": 2}.get(ids[origin], 1)  # hub: 6 rosters + 2 writes
        assert last_seq == expected, (ids[origin], heads)
    assert_directory(fed, written)


# --- 2. a peer killed mid-sync resumes --------------------------------------------------------

BATCH = 3000


def write_csv(path: Path, rows: int) -> None:
    places = [
        ("NL", "Amsterdam", 52.37, 4.89),
        ("DE", "Berlin", 52.52, 13.40),
        ("FR", "Paris", 48.86, 2.35),
    ]
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["key", "name", "kind", "country", "city", "latitude", "longitude"])
        for i in range(rows):
            country, city, lat, lon = places[i % 3]
            out.writerow(
                [f"m{i:05d}", f"{city} Hospital {i:05d}", "hospital", country, city, lat, lon]
            )


def test_peer_killed_mid_sync_resumes(procs: Processes, tmp_path: Path) -> None:
    fed = build(
        procs,
        tmp_path,
        ["hub", "europe", "asia"],
        env={"asia": {"HEALTHNET_SYNC_PAGE_SIZE": "50"}},
    )
    europe, asia = fed["europe"], fed["asia"]
    data = tmp_path / "members.csv"
    write_csv(data, BATCH)

    out_path, err_path = tmp_path / "import.out", tmp_path / "import.err"
    with out_path.open("wb") as out_fh, err_path.open("wb") as err_fh:
        importer = subprocess.Popen(
            [str(HEALTHNET), "import", str(europe.home), str(data)],
            stdout=out_fh,
            stderr=err_fh,
            env=child_env(),
        )
    try:
        # Asia pulls 50 records a page while Europe commits 500 a batch: catch it halfway.
        observed = 0
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            seq = asia.heads().get(europe.node_id, (0, 0, ""))[0]
            if 0 < seq < BATCH:
                observed = seq
                break
            assert seq < BATCH, "asia finished before it could be interrupted"
            time.sleep(0.02)
        assert 0 < observed < BATCH, f"never saw asia part way: {observed}\n{fed.logs()}"
        procs.kill(asia.proc)  # SIGKILL: in the middle of pulling pages
        importer.wait(timeout=180)
    finally:
        if importer.poll() is None:
            importer.kill()
            importer.wait(timeout=10)
    stdout = out_path.read_text(encoding="utf-8")
    assert importer.returncode == 0, (stdout, err_path.read_text(encoding="utf-8"))
    assert f"{BATCH} created" in stdout, stdout

    fed.start("asia")  # the same home: it resumes from what it committed
    samples = [observed]

    def caught_up() -> bool:
        mine = asia.heads().get(europe.node_id, (0, 0, ""))
        samples.append(mine[0])
        return mine == europe.heads()[europe.node_id]

    poll_until(caught_up, timeout=60, what="asia to catch up", detail=fed.logs)
    assert samples == sorted(samples), f"europe's last_seq went back on asia: {samples}"
    assert samples[1] >= observed
    heads = fed.wait_converged(origins=[fed.hub.node_id, europe.node_id])
    assert heads[europe.node_id][:2] == (BATCH, BATCH)  # dense: count == last_seq
    status = asia.get("/federation/status")
    assert status["quarantine"]["total"] == 0, status["quarantine"]
    assert asia.get("/members", region="europe", count="true", limit=1)["total"] == BATCH


# --- 3. a partition heals ---------------------------------------------------------------------


def peer_row(home: Path, peer_name: str) -> tuple[str, int]:
    """`healthnet peers HOME` on one peer: its health and its failures in a row (the
    failures line is printed only when there are some)."""
    out = cli("peers", home).stdout
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(f"{peer_name} ("):
            failures = 0
            for detail in lines[i + 1 :]:
                if not detail.startswith("    "):
                    break
                if detail.strip().startswith("failures:"):
                    failures = int(detail.split()[1])
            return line.rsplit(": ", 1)[1], failures
    raise AssertionError(f"no entry for {peer_name}:\n{out}")


def peer_status(node: Node, peer_id: str) -> dict[str, Any]:
    peers = node.get("/federation/status")["peers"]
    return next(p for p in peers if p["node_id"] == peer_id)


def test_partition_heals(procs: Processes, tmp_path: Path) -> None:
    fed = build(procs, tmp_path, ["hub", "europe", "asia"])
    hub, europe, asia = fed.hub, fed["europe"], fed["asia"]
    before = {name: fed[name].post("members", SITES[name].member)["id"] for name in fed.nodes}
    fed.wait_converged()

    fed.stop("europe")
    tokyo2 = asia.post(
        "members", member("Keio University Hospital", "asia", "JP", "Tokyo", 35.68, 139.72)
    )["id"]
    cleveland = hub.post(
        "members",
        member("Cleveland Clinic", "north-america", "US", "Cleveland", 41.5025, -81.6208),
    )["id"]
    fed.wait_converged(["hub", "asia"], origins=[hub.node_id, asia.node_id])
    poll_until(
        lambda: peer_status(hub, europe.node_id)["failures"] >= 1,
        timeout=CONVERGE_S,
        what="the hub to notice europe is down",
    )
    health, failures = peer_row(hub.home, SITES["europe"].operator)
    assert health == "NOT HEALTHY" and failures >= 1, (health, failures)

    # Europe comes back while the hub and Asia are away: its write queues locally.
    fed.stop("hub", "asia")
    fed.start("europe")
    amsterdam = europe.post(
        "members", member("Amsterdam UMC", "europe", "NL", "Amsterdam", 52.294, 4.958)
    )["id"]
    assert fed.has_member("europe", amsterdam)
    assert not fed.has_member("europe", cleveland)  # europe has not heard of it yet

    fed.start("hub", "asia")
    fed.wait_converged()
    for name in fed.nodes:
        for member_id in [*before.values(), tokyo2, cleveland, amsterdam]:
            assert fed.has_member(name, member_id), (name, member_id)

    poll_until(
        lambda: peer_status(hub, europe.node_id)["failures"] == 0,
        timeout=CONVERGE_S,
        what="the hub to record europe as healthy again",
    )
    health, failures = peer_row(hub.home, SITES["europe"].operator)
    assert health == "healthy" and failures == 0, (health, failures)


# --- 4. key rotation -------------------------------------------------------------------------


def roster_keys(node: Node, origin: str) -> dict[str, RosterKey]:
    roster = node.get("/federation/roster")
    entry = next(n for n in roster["body"]["nodes"] if n["node_id"] == origin)
    return {k["key_id"]: RosterKey.model_validate(k) for k in entry["keys"]}


def test_key_rotation(six: Six) -> None:
    fed = six.fed
    europe, asia = fed["europe"], fed["asia"]
    out = cli("key", "rotate", europe.home).stdout
    flat = " ".join(out.split())  # rich wraps long lines at 80 columns when not a terminal
    found = re.search(r"new key (ed25519:\d+), valid from seq (\d+): ([A-Za-z0-9_-]{43})", flat)
    assert found, out
    key_id, from_seq, new_key = found[1], int(found[2]), found[3]
    assert key_id == "ed25519:2"
    command = re.search(
        r"healthnet (roster rotate) HUB_HOME (hn-[a-z2-7]{24}) --key ([A-Za-z0-9_-]{43})", flat
    )
    assert command and command[2] == europe.node_id and command[3] == new_key, out

    fed.procs.restart(europe.proc)
    assert europe.get("/node")["key_id"] == key_id
    out = cli("roster", "rotate", fed.hub.home, command[2], "--key", command[3]).stdout
    version = re.search(r"roster\s+v(\d+)", out)
    assert version, out
    fed.roster_version = int(version[1])
    fed.wait_roster()

    amsterdam = europe.post(
        "members", member("Amsterdam UMC", "europe", "NL", "Amsterdam", 52.294, 4.958)
    )
    assert amsterdam["seq"] == from_seq and amsterdam["record"]["record"]["key_id"] == key_id
    poll_until(
        lambda: fed.has_member("hub", amsterdam["id"]) and fed.has_member("asia", amsterdam["id"]),
        timeout=CONVERGE_S,
        what="the member signed with the new key on the hub and asia",
        detail=fed.logs,
    )

    listed = roster_keys(asia, europe.node_id)
    assert set(listed) == {"ed25519:1", key_id}
    assert listed[key_id].public_key == new_key
    old_env = asia.get(f"/records/{six.written.members['europe']}")
    new_env = asia.get(f"/records/{amsterdam['id']}")
    for envelope, kid in ((old_env, "ed25519:1"), (new_env, key_id)):
        header = envelope["record"]
        assert header["key_id"] == kid and header["origin"] == europe.node_id
        assert key_valid(listed[kid], header["seq"])
        verify_envelope(envelope, keys.public_key(listed[kid].public_key))
    with pytest.raises(BadSignature):
        verify_envelope(new_env, keys.public_key(listed["ed25519:1"].public_key))
    assert not key_valid(listed["ed25519:1"], new_env["record"]["seq"])
    fed.wait_converged()


def test_key_rotate_prints_the_hub_command_on_one_line(tmp_path: Path) -> None:
    hub_key = keys.generate("ed25519:1").public_b64
    settings = init_home(
        tmp_path / "eu",
        name="Radboud UMC",
        region=Region.EUROPE,
        url="http://127.0.0.1:8101",
        hub_url="http://127.0.0.1:8100",
        hub_key=hub_key,
    )
    open_database(settings.db_url, origin=settings.node_id).dispose()
    out = cli("key", "rotate", settings.home, env={"COLUMNS": "80"}).stdout  # as when piped
    one_line = re.compile(
        rf"healthnet roster rotate HUB_HOME {settings.node_id} --key [A-Za-z0-9_-]{{43}}$"
    )
    assert any(one_line.search(line) for line in out.splitlines()), out


# --- concurrent roster edits ----------------------------------------------------------------


@pytest.mark.postgres
def test_concurrent_roster_adds_on_postgres(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What two operators (or a script admitting nodes in parallel) do: two processes each
    run ``operator.admit`` against the hub's database. Two threads with their own
    connections stand in for them. A pause between reading the roster and writing the next
    version widens the window the multi-process run hit by chance: without the hub's lock,
    both read the same version and one of them fails or is lost."""
    settings = init_home(
        tmp_path / "hub",
        name="Mayo Clinic",
        region=Region.NORTH_AMERICA,
        url="http://127.0.0.1:8100",
        database_url=pg_url,
        hub=True,
    )
    engine = open_database(settings.db_url, origin=settings.node_id)
    with Session(writer(engine)) as session:
        roster.ensure_roster(session, settings=settings, key=load_key(settings), now=utc_now())
        session.commit()
    infos = []
    for port, (region, name) in enumerate(
        ((Region.EUROPE, "Radboud UMC"), (Region.ASIA, "Asia community")), start=8101
    ):
        key = keys.generate("ed25519:1")
        infos.append(
            {
                "node_id": keys.node_id_for(key.public_raw),
                "name": name,
                "region": region.value,
                "url": f"http://127.0.0.1:{port}",
                "key_id": key.key_id,
                "public_key": key.public_b64,
                "key_from_seq": 1,
            }
        )
    real_with_node = operator.with_node

    def read_then_wait(body: Any, node: Any) -> Any:
        time.sleep(0.5)  # the roster has been read; the other admit starts meanwhile
        return real_with_node(body, node)

    monkeypatch.setattr(operator, "with_node", read_then_wait)
    errors: list[BaseException] = []

    def admit(info: dict[str, Any]) -> None:
        try:
            operator.admit(engine, settings, info, expected_key=info["public_key"], now=utc_now())
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=admit, args=(info,)) for info in infos]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        with Session(engine) as session:
            held = roster.current(session, hub=settings.node_id)
    finally:
        engine.dispose()
    assert held is not None
    assert errors == [], errors
    listed = {n.node_id for n in held[0].nodes}
    assert listed == {settings.node_id, *(i["node_id"] for i in infos)}, listed


# --- 6. sync --now ---------------------------------------------------------------------------


def test_sync_now(six: Six) -> None:
    fed = six.fed
    asia = fed["asia"]
    fed["oceania"].post(
        "members", member("Auckland City Hospital", "oceania", "NZ", "Auckland", -36.86, 174.77)
    )
    roster = asia.get("/federation/roster")["body"]
    peers = {
        n["node_id"]
        for n in roster["nodes"]
        if n["node_id"] != asia.node_id and n["status"] == "active"
    }
    result = cli("sync", asia.home)  # pulls now: no --now needed
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("hn-")]
    reported = {}
    for line in lines:
        found = re.match(r"(hn-[a-z2-7]{24}): (ok|FAILED), (\d+) applied, (\d+) rejected", line)
        assert found, line
        reported[found[1]] = found[2]
    assert reported == dict.fromkeys(peers, "ok"), result.stdout
    fed.wait_converged()


# --- 5. revocation ---------------------------------------------------------------------------


def test_revocation(six: Six) -> None:
    fed = six.fed
    africa = fed["africa"]
    earlier = six.written.members["africa"]
    held = fed.wait_converged()[africa.node_id]

    out = cli("roster", "revoke", fed.hub.home, africa.node_id).stdout
    found = re.search(r"is revoked: roster\s+v(\d+)", " ".join(out.split()))
    assert found, out
    fed.roster_version = int(found[1])
    fed.wait_roster()  # every node, Africa included, knows before Africa writes again

    lagos = africa.post(
        "members",
        member("Lagos University Teaching Hospital", "africa", "NG", "Lagos", 6.517, 3.353),
    )["id"]
    assert fed.has_member("africa", lagos)
    time.sleep(4)  # a few sync intervals
    others = [n for n in fed.nodes if n != "africa"]
    fed.wait_converged(others)
    for name in others:
        node = fed[name]
        assert not fed.has_member(name, lagos), name
        assert fed.has_member(name, earlier), name
        assert node.status_of(f"/records/{earlier}") == 200
        assert node.heads()[africa.node_id] == held, name
        ids = {m["id"] for m in node.get("/members", region="africa", limit=100)["items"]}
        assert earlier in ids and lagos not in ids
