"""The six-node federation of real processes on 127.0.0.1: convergence, key rotation,
``healthnet sync`` and revocation; also ``healthnet key rotate``'s output and concurrent
roster edits on PostgreSQL.

Each node is ``healthnet serve`` in its own process with its own home and database (SQLite,
or PostgreSQL for the hub and Europe in one variant), built by tests/support/proc_federation.py;
every operator action of the federation goes through the ``healthnet`` command itself:
``roster add``, ``key rotate``, ``roster rotate``, ``roster revoke``, ``sync``. Every process
is stopped by PID when its test (or, for the shared six-node federation, the module) ends.

The six-node SQLite federation is shared by the tests that only add to it, in file order:
convergence, key rotation, ``sync --now``, then revocation (which removes Africa). A peer
killed mid-sync and a partition are in test_multiprocess_recovery.py.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from support.databases import BACKENDS, Databases, require_postgres_mark
from support.proc_federation import CONVERGE_S, SITES, Federation, Node, build, member
from support.procs import Processes, cli, poll_until

from federation import keys
from federation.errors import BadSignature
from federation.signing import verify_envelope
from federation.trust import key_valid
from node import operator, roster
from node.db.engine import writer
from node.db.setup import open_database
from node.home import init_home, load_key
from node.runtime import utc_now
from schemas.geo import Region
from schemas.roster import RosterKey

pytestmark = pytest.mark.slow


# --- what every site writes ----------------------------------------------------------------


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


# --- six nodes converge --------------------------------------------------------------------


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


# --- key rotation --------------------------------------------------------------------------


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


# --- sync --now ----------------------------------------------------------------------------


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


# --- revocation ----------------------------------------------------------------------------


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
