"""A federation of real node processes on 127.0.0.1 for the multi-process tests: the six
sites (a member in every region, events on the hub and Europe), a ``Node`` to talk to each
one's API, and a ``Federation`` that makes homes, starts nodes and admits them.

Each node is ``healthnet serve`` in its own process (support.procs) with its own home and
database. Homes and editor tokens are made in-process with the functions ``healthnet init``
and ``healthnet token create`` call (each CLI run costs seconds of start-up;
``test_serve.py`` covers those two commands); admitting a node goes through ``healthnet
roster add`` itself. Nodes sync every second (``FAST_SYNC``); every wait is a bounded poll.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from pprint import pformat
from typing import Any

import httpx
from sqlmodel import Session

from node import tokens
from node.db.engine import writer
from node.db.setup import open_database
from node.home import init_home, load_key
from node.runtime import utc_now
from schemas.geo import Region

from .procs import FAST_SYNC, NodeProc, Processes, cli, free_ports, poll_until

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
