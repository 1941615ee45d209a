"""Phase 4: one write on a regional node, seen by all five others, moved by nudges only.

Six fresh homes (the hub and one node per other region), each a ``healthnet serve``
process with a one-hour sync interval, so that a record can only travel by the nudge a
write sends. A trial polls the five other nodes (every 5 ms, at most 10 s) until all of
them serve the new member.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from benchlib.output import say
from benchlib.ports import free_port
from benchlib.processes import run_cli, run_cli_parallel
from benchlib.servers import Servers
from benchlib.timing import med

from syncbench.homes import NodeHome, init_args, read_identity, serve
from syncbench.targets import TARGETS

ONE_HOUR = "3600"

# (region, country, city, latitude, longitude) for the six-node phase
SIX = [
    ("north-america", "US", "Rochester", 44.0121, -92.4802),
    ("europe", "NL", "Nijmegen", 51.8426, 5.8528),
    ("africa", "KE", "Nairobi", -1.2921, 36.8219),
    ("asia", "JP", "Tokyo", 35.6762, 139.6503),
    ("oceania", "AU", "Sydney", -33.8688, 151.2093),
    ("south-america", "BR", "São Paulo", -23.5505, -46.6333),
]


def propagation(root: Path, servers: Servers, *, trials: int) -> dict[str, Any]:
    """Set up the six nodes, then ``trials`` writes (round robin over the regionals)."""
    nodes: list[NodeHome] = []
    for region, *_ in SIX:
        nodes.append(NodeHome(region, root / "six" / region, free_port()))
    hub, regionals = nodes[0], nodes[1:]
    say("  init the hub and five regional nodes")
    run_cli(*init_args(hub, "north-america", hub=None, name="Mayo Clinic (bench hub)"))
    read_identity(hub)
    run_cli_parallel([init_args(n, n.label, hub=hub, name=f"bench {n.label}") for n in regionals])
    for n in regionals:
        read_identity(n)
    tokens = run_cli_parallel([["token", "create", str(n.home), "--role", "editor"] for n in nodes])
    for n, text in zip(nodes, tokens, strict=True):
        n.token = text.strip().splitlines()[-1]
    quiet = {"SYNC_INTERVAL_SECONDS": ONE_HOUR, "SYNC_JITTER_SECONDS": "0"}
    serve(servers, hub, **quiet)
    servers.wait_ready([hub.label])
    for n in regionals:
        serve(servers, n, **quiet)
    servers.wait_ready([n.label for n in regionals])
    say("  roster add x5 (healthnet roster add on the hub's home)")
    for n in regionals:
        run_cli("roster", "add", str(hub.home), n.url, "--key", n.public_key)
    out: dict[str, Any] = {}
    with httpx.Client(timeout=5) as http:
        # Finding: the running hub still holds the roster it loaded (version 1).
        probe = http.post(
            hub.url + "/federation/nudge",
            json={"node": regionals[0].node_id, "origin": regionals[0].node_id, "seq": 1},
        )
        out["hub_accepts_new_nodes_nudge_before_restart"] = probe.json().get("accepted")
        out["hub_roster_version_before_restart"] = http.get(hub.url + "/federation/status").json()[
            "roster_version"
        ]
        servers.stop(hub.label)
        serve(servers, hub, **quiet)
        servers.wait_ready([hub.label])
        auths = {n.label: {"Authorization": f"Bearer {n.token}"} for n in nodes}
        # A write on the hub nudges all five; each pulls the hub's log, roster included.
        seed = member_body(SIX[0], "Propagation seed")
        created = http.post(hub.url + "/admin/members", json=seed, headers=auths[hub.label])
        created.raise_for_status()
        seed_id = created.json()["id"]
        deadline = time.monotonic() + 60
        pending = {n.label for n in regionals}
        while pending and time.monotonic() < deadline:
            for n in regionals:
                if n.label not in pending:
                    continue
                status = http.get(n.url + "/federation/status").json()
                seen = http.get(f"{n.url}/members/{seed_id}").status_code == 200
                if status["roster_version"] == len(nodes) and seen:
                    pending.discard(n.label)
            time.sleep(0.1)
        if pending:
            raise TimeoutError(f"roster did not reach {sorted(pending)} within 60 s")
        out["setup_converged"] = True
        time.sleep(0.5)
        runs = []
        clients = {n.label: httpx.Client(timeout=5, base_url=n.url) for n in nodes}
        try:
            for k in range(trials):
                writer = regionals[k % len(regionals)]
                row = next(r for r in SIX if r[0] == writer.label)
                body = member_body(row, f"Propagation probe {k}")
                response = clients[writer.label].post(
                    "/admin/members", json=body, headers=auths[writer.label]
                )
                t0 = time.perf_counter()
                response.raise_for_status()
                member_id = response.json()["id"]
                others = [n for n in nodes if n is not writer]
                seen_ms: dict[str, float] = {}
                rounds = 0
                while len(seen_ms) < len(others) and rounds < 5000:
                    rounds += 1
                    for n in others:
                        if n.label in seen_ms:
                            continue
                        if clients[n.label].get(f"/members/{member_id}").status_code == 200:
                            seen_ms[n.label] = round((time.perf_counter() - t0) * 1000, 1)
                    if time.perf_counter() - t0 > 10:
                        break
                    time.sleep(0.005)
                complete = len(seen_ms) == len(others)
                worst = max(seen_ms.values()) if complete else float("inf")
                runs.append(
                    {
                        "writer": writer.label,
                        "all_ms": worst,
                        "per_node_ms": seen_ms,
                        "complete": complete,
                        "poll_rounds": rounds,
                    }
                )
                say(
                    f"    trial {k + 1}: write on {writer.label:13s} -> all five in "
                    f"{worst:7.1f} ms  {seen_ms}"
                )
                time.sleep(0.3)
        finally:
            for c in clients.values():
                c.close()
    out["runs"] = runs
    out["ms_median"] = med([r["all_ms"] for r in runs])
    out["ms_max"] = max(r["all_ms"] for r in runs)
    out["complete_all"] = all(r["complete"] for r in runs)
    return out


def member_body(row: tuple[str, str, str, float, float], name: str) -> dict[str, Any]:
    """A minimal new member in ``row``'s region, for ``POST /admin/members``."""
    region, country, city, lat, lon = row
    return {
        "name": name,
        "kind": "clinic",
        "region": region,
        "country": country,
        "city": city,
        "latitude": lat,
        "longitude": lon,
    }


def phase_six(root: Path, servers: Servers, trials: int) -> dict[str, Any]:
    say("\n== 4. propagation of one write to all six nodes, with nudges")
    prop = propagation(root, servers, trials=trials)
    say(
        f"propagation: median {prop['ms_median']:.1f} ms, max {prop['ms_max']:.1f} ms "
        f"over {len(prop['runs'])} writes (target <= {TARGETS['propagation_ms']:.0f} ms)"
    )
    say(
        f"  before the hub restart it answered a new node's nudge with accepted="
        f"{prop['hub_accepts_new_nodes_nudge_before_restart']} (roster v"
        f"{prop['hub_roster_version_before_restart']} in memory)"
    )
    return prop
