"""Phases 0-2: the verify denominator, the full sync of the source's records by a separate
``healthnet sync RECEIVER --now`` process, and that process's peak memory.

The sync is timed from spawning the command to the first moment the receiver's
``/federation/heads`` shows the source's last record; a second, no-op run gives the
command's fixed cost. CPU time is charged to each process (``wait4`` for the sync, /proc
for the servers), so the CPU ratio holds on a busy machine where the wall ratio does not.
"""

from __future__ import annotations

import math
import os
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from benchlib.app import NodeSettings, b64url_decode, import_csv, open_home, public_key
from benchlib.limits import verify_rates
from benchlib.machine import (
    busy_share,
    load_average,
    machine_jiffies,
    proc_cpu_seconds,
    proc_status_kb,
)
from benchlib.output import say
from benchlib.processes import base_env, healthnet_command, kill, run_cli
from benchlib.servers import Servers
from benchlib.timing import med

from syncbench.homes import NodeHome, heads_of, serve
from syncbench.targets import TARGETS

ONE_DAY = "86400"


def real_record(home: Path, origin: str) -> tuple[bytes, bytes, int]:
    """Canonical header bytes and raw signature of one member record the node signed."""
    con = sqlite3.connect(f"file:{home / 'node.db'}?mode=ro", uri=True)
    try:
        header, sig, body = con.execute(
            "SELECT header, sig, body FROM records WHERE origin = ? AND kind = 'member' "
            "ORDER BY seq LIMIT 1 OFFSET 10",
            (origin,),
        ).fetchone()
    finally:
        con.close()
    envelope = len(header) + len(body or "") + len(sig) + 30
    return header.encode("utf-8"), b64url_decode(sig), envelope


@dataclass
class SyncRun:
    wall_to_heads: float = float("nan")
    wall_to_exit: float = float("nan")
    exit_code: int | None = None
    vmhwm_kb_sampled: int = 0
    maxrss_kb: int = 0
    cpu_s: float = 0.0
    samples: int = 0
    stdout: str = ""


def timed_sync_now(
    receiver: NodeHome, *, want: tuple[str, int] | None, timeout: float, logs: Path, tag: str
) -> SyncRun:
    """Spawn ``healthnet sync RECEIVER --now``; sample VmHWM; poll the receiver's heads."""
    run = SyncRun()
    out_path, err_path = logs / f"sync-{tag}.out", logs / f"sync-{tag}.err"
    cmd = [*healthnet_command(), "sync", str(receiver.home), "--now"]
    with out_path.open("wb") as out, err_path.open("wb") as err, httpx.Client(timeout=5) as http:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=err,
            env=base_env(),
            start_new_session=True,
        )
        deadline = t0 + timeout
        next_poll = t0
        try:
            while True:
                hwm = proc_status_kb(proc.pid, "VmHWM")
                if hwm is not None:
                    run.vmhwm_kb_sampled = max(run.vmhwm_kb_sampled, hwm)
                    run.samples += 1
                now = time.perf_counter()
                if want is not None and math.isnan(run.wall_to_heads) and now >= next_poll:
                    next_poll = now + 0.1
                    try:
                        held = heads_of(http, receiver.url).get(want[0])
                        if held and held["last_seq"] >= want[1]:
                            run.wall_to_heads = time.perf_counter() - t0
                    except (httpx.HTTPError, ValueError):
                        pass
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid == proc.pid:
                    run.wall_to_exit = time.perf_counter() - t0
                    proc.returncode = os.waitstatus_to_exitcode(status)
                    run.exit_code = proc.returncode
                    run.maxrss_kb = int(usage.ru_maxrss)
                    run.cpu_s = usage.ru_utime + usage.ru_stime
                    break
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"sync --now did not finish within {timeout:.0f} s")
                time.sleep(0.05)
        finally:
            if proc.returncode is None:
                kill(proc, 10)
        if want is not None and math.isnan(run.wall_to_heads):
            held = heads_of(http, receiver.url).get(want[0])
            if held and held["last_seq"] >= want[1]:
                run.wall_to_heads = run.wall_to_exit
    run.stdout = out_path.read_text(encoding="utf-8", errors="replace").strip()
    return run


def run_source_import(source: NodeHome, csv_path: Path, count: int) -> dict[str, Any]:
    """Load the generated members into the source home, in this process (progress every
    tenth); the import is set-up here, not a measured figure."""
    settings = NodeSettings.load(source.home)
    engine, key = open_home(settings)
    done = [0]
    step = max(count // 10, 1)

    def progress(n: int) -> None:
        before = done[0]
        done[0] += n
        if done[0] // step != before // step:
            say(f"  imported {done[0]:,}/{count:,}")

    t0 = time.perf_counter()
    report = import_csv(engine, settings, key, csv_path, "member", progress=progress)
    seconds = time.perf_counter() - t0
    engine.dispose()
    if report.errors:
        raise RuntimeError(f"import rejected rows: {[str(e) for e in report.errors[:5]]}")
    say(
        f"import into the source: {report.created:,} members in {seconds:.1f} s "
        f"({report.created / seconds:,.0f} rec/s)"
    )
    return {
        "created": report.created,
        "seconds": round(seconds, 2),
        "records_per_s": round(report.created / seconds, 1),
    }


def full_sync_phase(
    res: dict[str, Any],
    hub: NodeHome,
    source: NodeHome,
    receiver: NodeHome,
    servers: Servers,
    logs: Path,
    *,
    rounds: int,
    n_records: int,
) -> int:
    """Phases 0-2 on the imported source: ``res["verify"]``, ``res["full_sync"]`` and
    ``res["rss"]``, printed as measured. Leaves the three servers running (for phase 3)
    and returns the source's last sequence number."""
    header, sig, envelope_bytes = real_record(source.home, source.node_id)
    public = public_key(source.public_key)
    say("\n== 0. denominator: Ed25519 verify of one real record (cryptography, 1 core)")
    rates_before, cpu_before = verify_rates(public, sig, header, rounds=rounds, seconds=0.5)
    say(
        f"verify/s before the sync: median {med(rates_before):,.0f} "
        f"(min {min(rates_before):,.0f}, max {max(rates_before):,.0f}); canonical header "
        f"{len(header)} B, whole envelope about {envelope_bytes} B"
    )

    quiet = {"SYNC_INTERVAL_SECONDS": ONE_DAY, "SYNC_JITTER_SECONDS": "0"}
    serve(servers, hub, **quiet)
    servers.wait_ready([hub.label])
    serve(servers, source, NUDGE="false", **quiet)
    # The receiver's server only answers /federation/heads: no hub key, so no scheduler.
    serve(servers, receiver, HUB_KEY="", HUB_URL="")
    servers.wait_ready([source.label, receiver.label])
    run_cli("roster", "add", str(hub.home), source.url, "--key", source.public_key)
    run_cli("roster", "add", str(hub.home), receiver.url, "--key", receiver.public_key)
    with httpx.Client(timeout=10) as http:
        src_head = heads_of(http, source.url)[source.node_id]
    last_seq = int(src_head["last_seq"])
    say(f"source holds {last_seq:,} records of its origin; receiver is empty")

    say("\n== 1-2. full sync: healthnet sync RECEIVER --now (a separate process)")
    src_cpu0 = proc_cpu_seconds(servers.pid("europe"))
    hub_cpu0 = proc_cpu_seconds(servers.pid("hub"))
    res["load_avg"]["before_full_sync"] = load_average()
    jiffies0 = machine_jiffies()
    full = timed_sync_now(
        receiver,
        want=(source.node_id, last_seq),
        timeout=120 + n_records / 100,
        logs=logs,
        tag="full",
    )
    res["load_avg"]["after_full_sync"] = load_average()
    machine = busy_share(jiffies0, machine_jiffies())
    src_cpu = proc_cpu_seconds(servers.pid("europe")) - src_cpu0
    hub_cpu = proc_cpu_seconds(servers.pid("hub")) - hub_cpu0
    say(f"  {full.stdout}")
    noop = timed_sync_now(receiver, want=None, timeout=120, logs=logs, tag="noop")
    with httpx.Client(timeout=10) as http:
        mine = heads_of(http, receiver.url).get(source.node_id, {})
        theirs = heads_of(http, source.url)[source.node_id]
    agrees = bool(mine) and all(
        mine[k] == theirs[k] for k in ("last_seq", "count", "digest", "head")
    )
    rates_after, cpu_after = verify_rates(public, sig, header, rounds=rounds, seconds=0.5)
    rates = rates_before + rates_after
    verify = med(rates)
    verify_cpu = med(cpu_before + cpu_after)
    say(
        f"verify/s after the sync: median {med(rates_after):,.0f}; "
        f"denominator (all {len(rates)} rounds) {verify:,.0f}/s = {1e6 / verify:.0f} µs"
    )
    res["verify"] = {
        "per_s_median": round(verify, 1),
        "us_per_op": round(1e6 / verify, 1),
        "per_cpu_s_median": round(verify_cpu, 1),
        "cpu_us_per_op": round(1e6 / verify_cpu, 1),
        "before": [round(r) for r in rates_before],
        "after": [round(r) for r in rates_after],
        "header_bytes": len(header),
        "envelope_bytes_approx": envelope_bytes,
    }
    wall = full.wall_to_heads
    net = wall - noop.wall_to_exit
    rate = last_seq / wall
    net_rate = last_seq / net if net > 0 else float("nan")
    res["full_sync"] = {
        "records": last_seq,
        "seconds_to_heads": round(wall, 3),
        "seconds_to_exit": round(full.wall_to_exit, 3),
        "records_per_s": round(rate, 1),
        "ratio_to_verify": round(rate / verify, 3),
        "noop_sync_seconds": round(noop.wall_to_exit, 3),
        "net_records_per_s": round(net_rate, 1),
        "net_ratio_to_verify": round(net_rate / verify, 3),
        "sync_process_cpu_s": round(full.cpu_s, 2),
        "sync_process_cpu_us_per_record": round(full.cpu_s / last_seq * 1e6, 1),
        # Contention-proof view: records per CPU second of the syncing process, over
        # verifies per CPU second (both sides lose nothing to waiting for a core).
        "cpu_ratio_to_verify": round(last_seq / full.cpu_s / verify_cpu, 3),
        "cpu_ratio_incl_source_server": round(last_seq / (full.cpu_s + src_cpu) / verify_cpu, 3),
        "source_server_cpu_us_per_record": round(src_cpu / last_seq * 1e6, 1),
        "hub_server_cpu_s": round(hub_cpu, 2),
        "machine_during_sync": machine,
        "exit_code": full.exit_code,
        "digests_agree": agrees,
        "cli_output": full.stdout,
    }
    res["rss"] = {
        "vmhwm_mb": round(full.vmhwm_kb_sampled / 1024, 1),
        "samples": full.samples,
        "noop_sync_vmhwm_mb": round(noop.vmhwm_kb_sampled / 1024, 1),
        # Not the child's own peak: Linux keeps the pre-exec high-water mark, i.e. the
        # size of this (forking) bench process. Kept only to show why VmHWM is used.
        "ru_maxrss_mb_includes_forking_parent": round(full.maxrss_kb / 1024, 1),
    }
    fs = res["full_sync"]
    say(
        f"full sync: {last_seq:,} records in {wall:.2f} s (heads) / "
        f"{full.wall_to_exit:.2f} s (exit) = {rate:,.0f} rec/s, "
        f"ratio {fs['ratio_to_verify']:.3f} (target >= {TARGETS['full_sync_ratio']})"
    )
    say(
        f"  fixed cost of the command (no-op sync --now): {noop.wall_to_exit:.2f} s; "
        f"net {net_rate:,.0f} rec/s, ratio {fs['net_ratio_to_verify']:.3f}"
    )
    say(
        f"  CPU: sync process {fs['sync_process_cpu_us_per_record']} µs/record "
        f"(verify {1e6 / verify_cpu:.0f} CPU-µs: CPU ratio {fs['cpu_ratio_to_verify']}), "
        f"source server {fs['source_server_cpu_us_per_record']} µs/record; "
        f"digests agree: {agrees}; whole machine {machine['busy_pct']}% busy "
        f"(steal {machine['steal_pct']}%) during the sync"
    )
    say(
        f"peak RSS of the sync process: VmHWM {res['rss']['vmhwm_mb']} MB "
        f"({full.samples} samples; target <= {TARGETS['rss_mb']:.0f} MB); "
        f"a no-op sync peaks at {res['rss']['noop_sync_vmhwm_mb']} MB"
    )
    return last_seq
