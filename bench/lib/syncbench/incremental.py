"""Phase 3: one changed record, pulled by the receiver's own ``Puller`` in this process:
first by a periodic round (``sync_all``: every peer's heads, then the page), then as a
nudge makes it travel (the source's nudge, counted once, and the nudged pull straight to
the page, docs/PROTOCOL.md 10.3).

In process, so that the bytes on the wire can be counted (httpx event hooks) and the
time of ``sync_all`` taken without a process start-up in it; against the real servers,
whose CPU time is added up each round so that waiting for a core (on a busy machine)
can be told from work.
"""

from __future__ import annotations

import asyncio
import cProfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from benchlib.app import NodeSettings, Nudge, close_app, create_app, peer_http, record_id
from benchlib.machine import proc_cpu_seconds
from benchlib.output import say
from benchlib.patching import patched
from benchlib.timing import med

from syncbench.homes import NodeHome
from syncbench.stages import cprofile_rows, sequential_patches
from syncbench.targets import TARGETS


class WireCounter:
    """httpx event hooks: request line + headers + body, status line + headers + body.

    The body is counted as sent (``Content-Length``, so compressed when the peer
    gzipped it), which is what crosses the wire; each exchange is kept apart as well."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sent = 0
        self.received = 0
        self.requests: list[str] = []
        self.exchanges: list[dict[str, Any]] = []
        self._open: dict[int, dict[str, Any]] = {}

    async def on_request(self, request: httpx.Request) -> None:
        target = request.url.raw_path.decode("ascii")
        size = len(f"{request.method} {target} HTTP/1.1\r\n") + 2
        size += sum(len(k) + len(v) + 4 for k, v in request.headers.raw)
        size += int(request.headers.get("content-length", "0"))
        self.sent += size
        self.requests.append(f"{request.method} {request.url.path}")
        exchange = {"request": f"{request.method} {request.url.path}", "sent": size}
        self._open[id(request)] = exchange  # requests run concurrently: pair by request
        self.exchanges.append(exchange)

    async def on_response(self, response: httpx.Response) -> None:
        head = len(f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\n") + 2
        head += sum(len(k) + len(v) + 4 for k, v in response.headers.raw)
        body = int(response.headers.get("content-length", "0"))
        self.received += head + body
        exchange = self._open.pop(id(response.request), None)
        if exchange is not None:
            exchange.update(
                status=response.status_code,
                headers=head,
                body=body,
                encoding=response.headers.get("content-encoding", "identity"),
            )


async def timed_round(
    counter: WireCounter, server_pids: list[int], go: Callable[[], Awaitable[list[Any]]]
) -> dict[str, Any]:
    """One counted, timed pull: wall and CPU time here, the peers' servers' CPU time."""
    counter.reset()
    servers0 = sum(proc_cpu_seconds(pid) for pid in server_pids)
    t0, c0 = time.perf_counter(), time.process_time()
    pulled = await go()
    ms = (time.perf_counter() - t0) * 1000
    cpu_ms = (time.process_time() - c0) * 1000
    servers_ms = (sum(proc_cpu_seconds(pid) for pid in server_pids) - servers0) * 1000
    return {
        "ms": round(ms, 2),
        "client_cpu_ms": round(cpu_ms, 2),
        "servers_cpu_ms": round(servers_ms, 1),
        "bytes": counter.sent + counter.received,
        "sent": counter.sent,
        "received": counter.received,
        "requests": list(counter.requests),
        "exchanges": list(counter.exchanges),
        "applied": sum(r.applied for r in pulled),
        "ok": all(r.ok for r in pulled),
    }


async def one_nudge(source: NodeHome, to: str, seq: int) -> dict[str, Any]:
    """The bytes of one nudge as the source sends it (its own peer client), to ``to``.
    A nudge's size does not depend on whom it goes to beyond the URL's port digits."""
    counter = WireCounter()
    http = peer_http(NodeSettings.load(source.home), timeout=httpx.Timeout(10.0, connect=3.0))
    http.event_hooks = {"request": [counter.on_request], "response": [counter.on_response]}
    message = Nudge(node=source.node_id, origin=source.node_id, seq=seq)
    async with http:
        answer = await http.post(f"{to}/federation/nudge", json=message.model_dump())
    if answer.status_code != 202:
        raise RuntimeError(f"nudge answered {answer.status_code}: {answer.text[:300]}")
    return {"bytes": counter.sent + counter.received, "exchanges": counter.exchanges}


async def incremental(
    receiver: NodeHome,
    source: NodeHome,
    *,
    member_id: str,
    repeats: int,
    server_pids: list[int],
    hub_url: str,
) -> dict[str, Any]:
    """``server_pids``: the peers' server processes, whose CPU time each round is added up
    (with this process's) to tell CPU work from waiting for a core on a busy machine;
    ``hub_url``: a server to send the counted nudge to."""
    counter = WireCounter()
    result: dict[str, Any] = {"runs": []}
    auth = {"Authorization": f"Bearer {source.token}"}
    settings = NodeSettings.load(receiver.home)
    # The node's own peer client (its User-Agent and headers), counted.
    http = peer_http(settings, timeout=httpx.Timeout(30.0, connect=3.0))
    http.event_hooks = {"request": [counter.on_request], "response": [counter.on_response]}
    async with http, httpx.AsyncClient(timeout=30) as admin:
        app = create_app(settings, schedule=False, http=http)
        syncer = app.state.sync.puller
        # Warm-up (connections, caches), then an idle round: nothing changed anywhere.
        await syncer.sync_all(force=True)
        counter.reset()
        t0 = time.perf_counter()
        idle = await syncer.sync_all(force=True)
        idle_ms = (time.perf_counter() - t0) * 1000
        result["idle"] = {
            "ms": round(idle_ms, 2),
            "bytes": counter.sent + counter.received,
            "requests": list(counter.requests),
            "exchanges": list(counter.exchanges),
            "applied": sum(r.applied for r in idle),
        }
        envelope = (await admin.get(f"{source.url}/records/{member_id}")).json()
        body = envelope["body"]
        for i in range(repeats):
            body["description"] = f"Changed by the sync bench, round {i}."
            put = await admin.put(
                f"{source.url}/admin/members/{member_id}", json=body, headers=auth
            )
            if put.status_code != 200:
                raise RuntimeError(f"PUT answered {put.status_code}: {put.text[:300]}")
            round_ = await timed_round(
                counter, server_pids, lambda: syncer.sync_all(force=True)
            )
            result["runs"].append(round_)
            await asyncio.sleep(0.2)
        # The same change as a nudge carries it: the source's nudge (its bytes counted once;
        # sent to the hub, since the receiver here is this process, not a server), then the
        # pull the nudge starts (node.sync.nudges: Puller.pull with the nudge).
        peer = app.state.sync.trust.current.nodes[source.node_id]
        nudged: list[dict[str, Any]] = []
        for i in range(repeats):
            body["description"] = f"Changed by the sync bench, nudged round {i}."
            put = await admin.put(
                f"{source.url}/admin/members/{member_id}", json=body, headers=auth
            )
            put.raise_for_status()
            news = Nudge(node=source.node_id, origin=source.node_id, seq=put.json()["seq"])

            async def go(news: Nudge = news) -> list[Any]:
                return [await syncer.pull(peer, force=True, nudge=news)]

            nudged.append(await timed_round(counter, server_pids, go))
            await asyncio.sleep(0.2)
        nudge = await one_nudge(source, hub_url, seq=put.json()["seq"])
        result["nudged"] = {
            "nudge_bytes": nudge["bytes"],
            "nudge_exchanges": nudge["exchanges"],
            "runs": nudged,
            "ms_median": round(med([r["ms"] for r in nudged]), 2),
            "pull_bytes_median": med([r["bytes"] for r in nudged]),
            "bytes_median": med([r["bytes"] for r in nudged]) + nudge["bytes"],
            "applied_each": [r["applied"] for r in nudged],
        }
        # One more changed record, pulled under cProfile (sequential: see sequential_patches).
        body["description"] = "Changed by the sync bench, profiled round."
        put = await admin.put(f"{source.url}/admin/members/{member_id}", json=body, headers=auth)
        put.raise_for_status()
        prof = cProfile.Profile(time.thread_time)
        with patched(sequential_patches()):
            t0 = time.perf_counter()
            prof.enable()
            await syncer.sync_all(force=True)
            prof.disable()
            result["profiled_round_ms"] = round((time.perf_counter() - t0) * 1000, 2)
        result["cprofile_ms"] = [
            {
                "by": r["by"],
                "function": r["function"],
                "tottime_ms": round(r["tottime_us_per_record"] / 1000, 3),
                "cumtime_ms": round(r["cumtime_us_per_record"] / 1000, 3),
                "calls": r["calls_per_record"],
            }
            for r in cprofile_rows(prof, 1, top=25)
        ]
    close_app(app)
    runs = result["runs"]
    result["ms_median"] = round(med([r["ms"] for r in runs]), 2)
    result["client_cpu_ms_median"] = round(med([r["client_cpu_ms"] for r in runs]), 2)
    result["servers_cpu_ms_median"] = round(med([r["servers_cpu_ms"] for r in runs]), 1)
    result["bytes_median"] = med([r["bytes"] for r in runs])
    # What the change itself adds to a round: the round minus an idle one (the heads of
    # every peer are asked for either way).
    result["bytes_over_idle_median"] = result["bytes_median"] - result["idle"]["bytes"]
    result["applied_each"] = [r["applied"] for r in runs]
    return result


def phase_incremental(
    receiver: NodeHome, source: NodeHome, repeats: int, server_pids: list[int], hub_url: str
) -> dict[str, Any]:
    say("\n== 3. incremental sync of one changed record (in process, counted bytes)")
    member_id = record_id(source.node_id, "member", "m0000003")
    inc = asyncio.run(
        incremental(
            receiver,
            source,
            member_id=member_id,
            repeats=repeats,
            server_pids=server_pids,
            hub_url=hub_url,
        )
    )
    for r in inc["runs"]:
        say(
            f"  {r['ms']:7.2f} ms (CPU: this process {r['client_cpu_ms']:6.2f} ms, servers "
            f"{r['servers_cpu_ms']:5.1f} ms)  {r['bytes']:5d} B  applied {r['applied']}  "
            f"{r['requests']}"
        )
    for x in inc["runs"][-1]["exchanges"]:
        say(
            f"    {x['request']:28s} sent {x['sent']:4d} B, answer {x.get('status')}: "
            f"headers {x.get('headers', 0):4d} B, body {x.get('body', 0):5d} B "
            f"({x.get('encoding')})"
        )
    say(
        f"incremental: median {inc['ms_median']:.2f} ms, {inc['bytes_median']:.0f} B "
        f"(targets <= {TARGETS['incremental_ms']:.0f} ms, <= {TARGETS['incremental_bytes']} "
        f"B); idle round {inc['idle']['ms']:.2f} ms, {inc['idle']['bytes']} B; the change "
        f"adds {inc['bytes_over_idle_median']:.0f} B"
    )
    nudged = inc["nudged"]
    for r in nudged["runs"]:
        say(
            f"  nudged: {r['ms']:7.2f} ms (CPU: this process {r['client_cpu_ms']:6.2f} ms, "
            f"servers {r['servers_cpu_ms']:5.1f} ms)  {r['bytes']:5d} B  applied "
            f"{r['applied']}  {r['requests']}"
        )
    say(
        f"nudged: median {nudged['ms_median']:.2f} ms, {nudged['bytes_median']:.0f} B "
        f"(the nudge {nudged['nudge_bytes']} B + the pull {nudged['pull_bytes_median']:.0f} B;"
        f" targets <= {TARGETS['incremental_ms']:.0f} ms, <= {TARGETS['incremental_bytes']} B)"
    )
    say(f"  one more round under cProfile ({inc['profiled_round_ms']:.1f} ms), by cumtime:")
    for row in [r for r in inc["cprofile_ms"] if r["by"] == "cumtime"][:18]:
        say(
            f"    {row['cumtime_ms']:8.2f} ms cum {row['tottime_ms']:8.2f} ms own "
            f"{row['calls']:6.0f} calls  {row['function']}"
        )
    return inc
