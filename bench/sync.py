"""Federation sync bench: full pull, receiver memory, incremental pull, six-node propagation.

Run: ``.venv/bin/python bench/sync.py [--records 100000] [--quick] [--keep]``.

Everything runs on this machine, over loopback HTTP, with real ``healthnet`` processes
started by this script on free 127.0.0.1 ports and stopped by their PID before it exits.
Every loop is bounded in count and in time. Human-readable figures are printed as they are
measured; the LAST line of stdout is one JSON object with every figure.

What is measured, in one run (the guide is /work/shared/guides/performance.md):

0. **Denominator**: single-core Ed25519 verify/s (``cryptography``) of one real record: the
   canonical header bytes and signature of a member envelope that the source node signed
   during the import below. Rounds of 0.5 s, taken before and after the full sync; the
   median of all rounds is the denominator of every ratio. Each round also records the
   thread's CPU time, giving verifies per CPU second for the CPU ratio below.
1. **Full sync**. Three node homes made with ``healthnet init``: the hub (north-america,
   ``--hub``), a Europe source node and an empty receiver (africa), both regional
   (``--hub-url/--hub-key``) and admitted with ``healthnet roster add``. N member rows
   (NL, DE, FR, BE, ... with real city coordinates) are generated as CSV and loaded into
   the source home with ``node.importer.run_import``. The hub and the source run
   ``healthnet serve`` with a one-day sync interval (so they never pull during the
   measurement) and the source with nudges off (so the hub does not start pulling the
   100k records when phase 3 writes). The receiver's own server runs only to answer
   ``GET /federation/heads``: it is started with ``HEALTHNET_HUB_KEY=`` (env overrides
   the file), which leaves it without a roster and therefore without a sync scheduler.
   The timed operation is a separate process, ``healthnet sync RECEIVER --now`` (its
   config does name the hub): from spawning it to the first moment the receiver's
   ``/federation/heads`` shows the source's ``last_seq`` (polled every 100 ms). The
   receiver's and source's digests for the source origin are compared afterwards.
   Figures: records/s, the ratio to the verify rate (target >= 0.5), and the same net of
   the fixed cost of the command (a second, no-op ``sync --now`` run, timed the same way),
   plus CPU microseconds per record of the syncing process (``wait4``) and of the source
   server (``/proc/PID/stat``), and the **CPU ratio**: records per CPU second of the
   syncing process over verifies per CPU second. On a shared machine the CPU ratio moves
   much less than the wall ratio, because neither side is charged for waiting for a core.
2. **Peak RSS** of the ``sync --now`` process (target <= 200 MB): ``VmHWM`` sampled from
   ``/proc/PID/status`` every 50 ms (``ru_maxrss`` from ``wait4`` is not usable: Linux
   keeps the pre-exec high-water mark, which is the size of the forking bench process).
3. **Incremental sync of one changed record**: ``PUT /admin/members/{id}`` on the source
   (editor token from ``healthnet token create``), then, in this process, the receiver's
   ``node.sync.puller.Puller`` (``create_app(NodeSettings.load(home), schedule=False)``) with an
   ``httpx.AsyncClient`` whose event hooks add up request and response sizes (request line
   and headers in HTTP/1.1 text form, so approximate; bodies exact via ``Content-Length``)
   against the real servers; ``sync_all(force=True)`` is timed, with the CPU time of this
   process and of the two servers, so waiting can be told from work. Targets <= 8 KB,
   <= 100 ms. Repeated; medians. An idle round (nothing changed) is reported too, and one
   more round is profiled (cProfile on the thread-CPU clock).
4. **Propagation to six nodes** (fresh homes, a few records): hub + europe, africa, asia,
   oceania, south-america, each a ``healthnet serve`` process with a one-hour sync interval,
   so only nudges move a write. After the five ``roster add`` runs the hub is restarted:
   a running hub only re-reads its roster at its next periodic round (see "Findings" in
   the report), and until then it refuses the new nodes' nudges; the bench records that
   refusal. A write on the hub then nudges the five regionals, which pull the new roster.
   Each trial: ``POST /admin/members`` on one regional node (round robin); from the moment
   the POST returns, the five other nodes' ``GET /members/{id}`` are polled (every 5 ms, at
   most 10 s) until all answer 200. Target <= 1 s; median over trials.
5. **Where the full-sync time goes**, in a fresh Python process (so the heap, and the garbage
   collector's work, are those of a syncing node, not of this bench after a large import);
   each pass pulls ``--profile-records`` records from the same source server into its own
   fresh receiver home, driving ``node.sync.puller.Puller`` directly:
   - stage timers: inclusive wall and thread-CPU microseconds per record around each stage
     of ``Puller._pull_origin`` / ``ingest_page`` / ``store.apply`` (the list is in
     ``STAGES``; functions that no longer exist are skipped), and GC time per generation;
   - the same after ``gc.freeze()`` of the start-up heap, and the same with the Ed25519
     checks run inline instead of on the puller's verify pool;
   - ``cProfile`` (wall clock, ``asyncio.to_thread`` and verification run inline so one
     thread does everything; its per-call overhead inflates call-heavy code);
   - hotspot checks on real records: ``entries`` insert with ``RETURNING ...
     sort_by_parameter_order=True`` (as ``store._project`` does) against an unordered
     ``RETURNING pk, record_id``; ``projection.project`` next to a pydantic validation;
     ``text.fold`` against an ASCII fast path.

To measure one fixed commit while others keep editing the working tree, run the bench
against a snapshot (the servers and CLI runs inherit PYTHONPATH; ``code_root`` in the JSON
says which code ran)::

    mkdir /tmp/hn-snap && git archive HEAD | tar -x -C /tmp/hn-snap
    git rev-parse HEAD > /tmp/hn-snap/COMMIT    # reported as code_commit
    PYTHONPATH=/tmp/hn-snap .venv/bin/python bench/sync.py

This machine is shared and noisy (2 vCPU; other jobs may run): quote medians, compare the
ratios, and look at the load averages recorded in the JSON.

The phases live in bench/lib/syncbench, the pieces shared with the other benches in
bench/lib/benchlib.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this directory is sys.path[0], and bench/node.py would shadow the
# application's ``node`` package: put bench/lib (the bench library) there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE / "lib")] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from typing import Any  # noqa: E402

import cryptography  # noqa: E402
import httpx  # noqa: E402
from benchlib.machine import load_average  # noqa: E402
from benchlib.output import print_last_line, say  # noqa: E402
from benchlib.ports import free_port  # noqa: E402
from benchlib.processes import run_cli, run_cli_parallel  # noqa: E402
from benchlib.provenance import code_commit, code_root, git_state  # noqa: E402
from benchlib.scratch import clean_up, scratch_dir  # noqa: E402
from benchlib.servers import Servers  # noqa: E402
from syncbench.europe import write_members_csv  # noqa: E402
from syncbench.fullsync import full_sync_phase, run_source_import  # noqa: E402
from syncbench.homes import NodeHome, init_args, read_identity  # noqa: E402
from syncbench.incremental import phase_incremental  # noqa: E402
from syncbench.profile import phase_profile, profile_child  # noqa: E402
from syncbench.propagation import phase_six  # noqa: E402
from syncbench.targets import TARGETS, verdict  # noqa: E402


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--records", type=int, default=None, help="members to sync (100000)")
    p.add_argument("--quick", action="store_true", help="smoke run: 5,000 records, fewer rounds")
    p.add_argument("--incremental-repeats", type=int, default=None)
    p.add_argument("--propagation-trials", type=int, default=None)
    p.add_argument("--profile-records", type=int, default=None, help="0: skip the profile")
    p.add_argument("--skip-six", action="store_true", help="skip the six-node phase")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.add_argument("--profile-child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    quick = args.quick
    args.records = args.records or (5_000 if quick else 100_000)
    args.incremental_repeats = args.incremental_repeats or (3 if quick else 7)
    args.propagation_trials = args.propagation_trials or (5 if quick else 10)
    if args.profile_records is None:
        args.profile_records = 2_000 if quick else 10_000
    args.verify_rounds = 5 if quick else 9
    return args


def guarded(res: dict[str, Any], name: str, phase: Callable[[], dict[str, Any]]) -> None:
    """Run one phase; a failure is recorded (and printed) and the next phase still runs."""
    try:
        res[name] = phase()
    except Exception as exc:  # a bench reports a failed phase, it does not stop
        import traceback

        text = "".join(traceback.format_exception(exc))
        say(f"!! phase {name} failed: {type(exc).__name__}: {exc}")
        print(text, file=sys.stderr, flush=True)
        res.setdefault("errors", {})[name] = f"{type(exc).__name__}: {exc}"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.profile_child:
        print_last_line(profile_child(json.loads(args.profile_child)), default=str)
        return 0
    n_records = args.records
    root = scratch_dir("hn-sync-bench-")
    logs = root / "logs"
    logs.mkdir()
    servers = Servers(logs)
    commit, dirty = git_state()
    res: dict[str, Any] = {
        "bench": "sync",
        "quick": bool(args.quick),
        "records": n_records,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "cryptography": cryptography.__version__,
            "httpx": httpx.__version__,
        },
        "git": {"commit": commit, "dirty": dirty},
        "code_root": code_root(),
        "code_commit": code_commit(),
        "targets": TARGETS,
        "load_avg": {"start": load_average()},
    }
    say(f"healthnet sync bench: {n_records:,} records, temp dir {root}")
    say(f"load average at start: {res['load_avg']['start']}")
    try:
        hub = NodeHome("hub", root / "hub", free_port())
        source = NodeHome("europe", root / "europe", free_port())
        receiver = NodeHome("receiver", root / "receiver", free_port())

        say("\n== setup: hub, europe source, receiver (healthnet init)")
        run_cli(*init_args(hub, "north-america", hub=None, name="Mayo Clinic (bench hub)"))
        read_identity(hub)
        run_cli_parallel(
            [
                init_args(source, "europe", hub=hub, name="Radboud UMC (bench source)"),
                init_args(receiver, "africa", hub=hub, name="bench receiver"),
            ]
        )
        read_identity(source)
        read_identity(receiver)
        token = run_cli("token", "create", str(source.home), "--role", "editor")
        source.token = token.strip().splitlines()[-1]

        csv_path = root / "europe-members.csv"
        t0 = time.perf_counter()
        write_members_csv(csv_path, n_records)
        say(
            f"generated {n_records:,} Europe members ({csv_path.stat().st_size / 1e6:.1f} MB) "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        res["import"] = run_source_import(source, csv_path, n_records)
        last_seq = full_sync_phase(
            res,
            hub,
            source,
            receiver,
            servers,
            logs,
            rounds=args.verify_rounds,
            n_records=n_records,
        )

        guarded(
            res,
            "incremental",
            lambda: phase_incremental(
                receiver,
                source,
                args.incremental_repeats,
                [servers.pid("hub"), servers.pid("europe")],
                hub.url,
            ),
        )
        if args.profile_records:
            guarded(
                res,
                "profile",
                lambda: phase_profile(
                    root, hub, source, args.profile_records, last_seq, script=Path(__file__)
                ),
            )
        servers.stop_all()
        if not args.skip_six:
            res["load_avg"]["before_six"] = load_average()
            guarded(res, "propagation", lambda: phase_six(root, servers, args.propagation_trials))
    finally:
        servers.stop_all()
        res["load_avg"]["end"] = load_average()
        clean_up(root, keep=args.keep)

    res["verdict"] = verdict(res)
    say("\n== summary")
    for name, ok in res["verdict"].items():
        say(f"  {name:24s} {'PASS' if ok else 'FAIL'}")
    print_last_line(res, ensure_ascii=False, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
