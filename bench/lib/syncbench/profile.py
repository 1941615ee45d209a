"""Phase 5: where the full-sync time goes, measured in a fresh Python process.

Fresh, so that the heap (and the garbage collector's work) is that of a syncing node,
not of this bench after a large import. The child is this same script with
``--profile-child JOB``; each of its passes pulls ``--profile-records`` records from the
running source server into a fresh receiver home, driving ``node.sync.Syncer`` directly.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from benchlib.app import NodeSettings, Region, close_app, create_app, init_home
from benchlib.output import say
from benchlib.patching import Patch, patched
from benchlib.processes import base_env

from syncbench.homes import NodeHome
from syncbench.hotspots import hotspot_checks
from syncbench.stages import StageTimer, cprofile_rows, sequential_patches, stage_patches


async def profiled_pull(
    root: Path, hub: NodeHome, source: NodeHome, *, records: int, tag: str, mode: str
) -> dict[str, Any]:
    """Pull about ``records`` records of the source into a fresh home, in this process."""
    home = root / f"profile-{tag}"
    init_home(
        home,
        name=f"profile {tag}",
        region=Region.ASIA,
        url="http://127.0.0.1:9",
        hub_url=hub.url,
        hub_key=hub.public_key,
    )
    pages = max(1, math.ceil(records / 500))
    settings = NodeSettings.load(home, sync_max_pages=pages, sync_page_size=500)
    out: dict[str, Any] = {}
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=3.0)) as http:
        app = create_app(settings, schedule=False, http=http)
        syncer = app.state.sync.puller
        await syncer.bootstrap()
        peer = app.state.sync.trust.current.node(source.node_id)
        if mode.startswith("stages"):
            timer = StageTimer()
            gcs: dict[str, Any] = {"start": 0.0, "seconds": [0.0, 0.0, 0.0], "count": [0, 0, 0]}

            def on_gc(phase: str, info: dict[str, Any]) -> None:
                if phase == "start":
                    gcs["start"] = time.perf_counter()
                else:
                    generation = int(info.get("generation", 0))
                    gcs["seconds"][generation] += time.perf_counter() - gcs["start"]
                    gcs["count"][generation] += 1

            if mode == "stages-gc-frozen":
                gc.collect()
                gc.freeze()  # what a node could do once after start-up
            extra: list[Patch] = []
            if mode == "stages-sequential-verify" and hasattr(type(syncer), "_verifier_map"):
                extra.append((type(syncer), "_verifier_map", lambda self: map))
            gc.callbacks.append(on_gc)
            try:
                with patched(stage_patches(timer) + extra):
                    t0 = time.perf_counter()
                    result = await syncer.pull(peer, force=True, only=source.node_id)
                    wall = time.perf_counter() - t0
            finally:
                gc.callbacks.remove(on_gc)
                if mode == "stages-gc-frozen":
                    gc.unfreeze()
            n = max(result.applied, 1)
            out["stages"] = timer.rows(n)
            out["gc"] = {
                "us_per_record": round(sum(gcs["seconds"]) / n * 1e6, 1),
                "us_per_record_by_generation": [round(x / n * 1e6, 1) for x in gcs["seconds"]],
                "collections_by_generation": gcs["count"],
            }
        else:
            # The default (wall) clock: a CPU clock costs a system call per event, which
            # inflates call-heavy code (per-character generators) far more than this does.
            prof = cProfile.Profile()
            with patched(sequential_patches()):
                t0 = time.perf_counter()
                prof.enable()
                result = await syncer.pull(peer, force=True, only=source.node_id)
                prof.disable()
                wall = time.perf_counter() - t0
            out["cprofile"] = cprofile_rows(prof, max(result.applied, 1))
    close_app(app)
    out.update(
        records=result.applied,
        seconds=round(wall, 3),
        records_per_s=round(result.applied / wall, 1) if wall else None,
    )
    return out


def profile_child(job: dict[str, Any]) -> dict[str, Any]:
    """The profile passes, run in a fresh interpreter so the heap (and so the garbage
    collector's work) is that of a syncing node, not of this bench after a 100k import."""
    root = Path(job["root"])
    hub = NodeHome.from_json(job["hub"])
    source = NodeHome.from_json(job["source"])
    k = int(job["records"])
    out: dict[str, Any] = {}
    for key, mode in (
        ("stages", "stages"),
        ("gc_frozen", "stages-gc-frozen"),
        ("sequential_verify", "stages-sequential-verify"),
        ("cprofile", "cprofile"),
    ):
        out[key] = asyncio.run(profiled_pull(root, hub, source, records=k, tag=key, mode=mode))
    out["hotspots"] = hotspot_checks(root, source, rows=k)
    return out


def phase_profile(
    root: Path, hub: NodeHome, source: NodeHome, records: int, last_seq: int, *, script: Path
) -> dict[str, Any]:
    """Run the profile child (``script --profile-child``) and print what it found."""
    k = min(records, last_seq)
    say(f"\n== 5. where the time goes: pulls of {k:,} records in a fresh Python process")
    job = {"root": str(root), "hub": hub.to_json(), "source": source.to_json(), "records": k}
    done = subprocess.run(
        [sys.executable, str(script), "--profile-child", json.dumps(job)],
        capture_output=True,
        text=True,
        timeout=300 + k / 10,
        env=base_env(),
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"profile child failed: {done.stderr[-3000:]}")
    child = json.loads(done.stdout.strip().splitlines()[-1])
    stages, frozen, seqv, prof, hot = (
        child["stages"],
        child["gc_frozen"],
        child["sequential_verify"],
        child["cprofile"],
        child["hotspots"],
    )
    say(
        f"stage timers: {stages['records']:,} records in {stages['seconds']:.2f} s "
        f"({stages['records_per_s']:,.0f} rec/s incl. timer overhead)"
    )
    say(
        f"  {'stage (inclusive; nested stages indented)':56s} {'wall':>7s} {'self':>7s} "
        f"{'CPU':>7s} {'selfCPU':>7s} {'calls':>6s}   (µs per record)"
    )
    for row in stages["stages"]:
        name = "  " * row["depth"] + row["stage"].split(" > ")[-1]
        say(
            f"  {name[:56]:56s} {row['us_per_record']:7.1f} {row['self_us_per_record']:7.1f} "
            f"{row['cpu_us_per_record']:7.1f} {row['self_cpu_us_per_record']:7.1f} "
            f"{row['calls_per_record']:6.2f}"
        )
    gcs = stages["gc"]
    say(
        f"  garbage collection (inside the stages above): {gcs['us_per_record']} µs/record "
        f"(by generation {gcs['us_per_record_by_generation']}, collections "
        f"{gcs['collections_by_generation']})"
    )
    fgc = frozen["gc"]
    say(
        f"same pull after gc.freeze() of the start-up heap: {frozen['records_per_s']:,.0f} rec/s "
        f"(vs {stages['records_per_s']:,.0f}); GC {fgc['us_per_record']} µs/record "
        f"(by generation {fgc['us_per_record_by_generation']})"
    )
    seq_apply = next(
        (r for r in seqv["stages"] if r["stage"].startswith("apply page")), {"cpu_us_per_record": 0}
    )
    par_apply = next(
        (r for r in stages["stages"] if r["stage"].startswith("apply page")),
        {"cpu_us_per_record": 0},
    )
    say(
        f"same pull verifying inline (built-in map, no pool): {seqv['records_per_s']:,.0f} rec/s; "
        f"apply-page CPU {seq_apply['cpu_us_per_record']} µs/record in the calling thread "
        f"(with the pool: {par_apply['cpu_us_per_record']} there, plus the pool's own)"
    )
    say(
        f"cProfile (wall clock; sequential: verify inline, no thread hops; profiler overhead "
        f"inflates call-heavy code): {prof['records']:,} records in {prof['seconds']:.2f} s; "
        f"top by own time, µs/record:"
    )
    for row in [r for r in prof["cprofile"] if r["by"] == "tottime"][:22]:
        say(
            f"  {row['tottime_us_per_record']:8.2f} own {row['cumtime_us_per_record']:8.2f}"
            f" cum {row['calls_per_record']:6.2f}/rec  {row['function']}"
        )
    say("  by cumulative CPU:")
    for row in [r for r in prof["cprofile"] if r["by"] == "cumtime"][:30]:
        if not row["function"].startswith(("node/", "federation/", "schemas/")):
            continue
        say(
            f"  {row['cumtime_us_per_record']:8.2f} cum {row['tottime_us_per_record']:8.2f}"
            f" own {row['calls_per_record']:6.2f}/rec  {row['function']}"
        )
    out: dict[str, Any] = child
    say(f"hotspot checks on {hot['rows']:,} real records (µs per record):")
    say(
        f"  entries INSERT ... RETURNING pk, sort_by_parameter_order=True: "
        f"{hot['entries_insert_sorted_us_per_row']} µs, "
        f"{hot['entries_insert_sorted_statements']} statements "
        f"(in store._project now: {hot['store_uses_sorted_returning']})"
    )
    say(
        f"  same rows, unordered RETURNING pk, record_id mapped back: "
        f"{hot['entries_insert_unsorted_mapped_us_per_row']} µs, "
        f"{hot['entries_insert_unsorted_mapped_statements']} statements"
    )
    say(
        f"  projection.project {hot['project_us']} µs (MemberBody.model_validate alone: "
        f"{hot['member_body_validate_us']} µs); fold {hot['fold_us_per_record']} µs "
        f"vs ASCII fast path {hot['fold_ascii_fast_path_us_per_record']} µs "
        f"({hot['ascii_share_of_texts']:.0%} of texts are ASCII)"
    )
    return out
