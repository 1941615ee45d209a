"""What an idle ``healthnet serve`` worker holds in memory, before and after its first
``/nearest?city=`` (the offline city lookup), and how long that first request takes.

Run: ``.venv/bin/python bench/memory.py [--runs N] [--keep]``.

One fresh node home (``healthnet init`` in a temp dir) is served ``--runs`` times (default
5), each time by a new ``healthnet serve`` process on 127.0.0.1 that is stopped by its PID
before the next starts. Per run: VmRSS (from /proc/PID/status) once ``/healthz`` answers and
the process has settled, the wall time of the first ``GET /nearest?city=Nijmegen`` and of a
second one, a ``/healthz`` round trip on the same connection (the floor of any request),
then VmRSS and VmHWM (the peak) after the city query. A second server per run first renders
the page from coordinates (``/nearest?lat=&lon=``, no city lookup), so that its city query
shows what the lookup alone costs, apart from compiling the page's templates. The
yardstick, taken in the same run,
is the RSS of this interpreter idle with nothing imported: what any Python process costs on
this machine. Figures are medians over the runs; the target (issue 13) is an idle worker
under 120 MB RSS after a city query.

The LAST line of stdout is one JSON object with every figure.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this directory is sys.path[0], and bench/node.py would shadow the
# application's ``node`` package: put bench/lib (the bench library) there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE / "lib")] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import httpx  # noqa: E402
from benchlib.machine import proc_status_kb  # noqa: E402
from benchlib.output import print_last_line, say  # noqa: E402
from benchlib.ports import free_port  # noqa: E402
from benchlib.processes import base_env, kill, run_cli  # noqa: E402
from benchlib.scratch import clean_up, scratch_dir  # noqa: E402
from benchlib.servers import start_server, wait_ready  # noqa: E402

TARGET_MB = 120.0
CITY = "Nijmegen"
SETTLE_SECONDS = 1.0  # after start-up or a request, before RSS is read
TIMEOUT = 60.0  # any one request or start; a hang is a failure, not a wait


def mb(kb: int | None) -> float:
    if kb is None:
        raise RuntimeError("the process exited before its memory was read")
    return kb / 1024


def bare_python_mb() -> float:
    """RSS of this interpreter started with nothing imported, read while it waits on stdin."""
    proc = subprocess.Popen(
        [sys.executable, "-S", "-c", "import sys; print('ready', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the bare interpreter did not start")
        time.sleep(0.2)
        return mb(proc_status_kb(proc.pid, "VmRSS"))
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            kill(proc)


def timed_get(http: httpx.Client, url: str) -> float:
    t0 = time.perf_counter()
    r = http.get(url)
    elapsed = time.perf_counter() - t0
    if r.status_code != 200:
        raise RuntimeError(f"GET {url} answered {r.status_code}")
    return elapsed


def one_run(home: Path, logs: Path, label: str, *, page_first: bool) -> dict[str, float]:
    """One fresh server: RSS idle, the first city query, RSS after; the server is stopped."""
    log = logs / f"serve-{label}.log"
    server = start_server(home, free_port(), env=base_env(), log=log, label=label)
    try:
        wait_ready([server], timeout=90, interval=0.1)
        time.sleep(SETTLE_SECONDS)
        idle = mb(proc_status_kb(server.pid, "VmRSS"))
        with httpx.Client(base_url=server.url, timeout=TIMEOUT) as http:
            healthz = timed_get(http, "/healthz")  # also opens the keep-alive connection
            if page_first:
                timed_get(http, "/nearest?lat=51.8425&lon=5.85278")
                time.sleep(SETTLE_SECONDS)
                idle = mb(proc_status_kb(server.pid, "VmRSS"))
            first = timed_get(http, f"/nearest?city={CITY}")
            second = timed_get(http, f"/nearest?city={CITY}")
            if CITY not in http.get(f"/nearest?city={CITY}").text:
                raise RuntimeError(f"/nearest?city={CITY} did not find {CITY}")
        time.sleep(SETTLE_SECONDS)
        after = mb(proc_status_kb(server.pid, "VmRSS"))
        peak = mb(proc_status_kb(server.pid, "VmHWM"))
    finally:
        server.stop()
    return {
        "rss_idle_mb": idle,
        "rss_after_city_mb": after,
        "rss_peak_mb": peak,
        "city_cost_mb": after - idle,
        "first_city_ms": first * 1000,
        "second_city_ms": second * 1000,
        "healthz_ms": healthz * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    runs = max(1, min(args.runs, 50))

    scratch = scratch_dir("healthnet-bench-memory-")
    samples: dict[str, list[float]] = {}
    try:
        home = scratch / "home"
        run_cli("init", str(home), "--name", "Bench", "--region", "europe",
                "--url", "http://127.0.0.1:9")  # fmt: skip
        for run in range(runs):
            page = one_run(home, scratch, f"page-first-{run}", page_first=True)
            figures = {
                "bare_python_mb": bare_python_mb(),
                **one_run(home, scratch, f"cold-{run}", page_first=False),
                "lookup_only_mb": page["city_cost_mb"],
                "lookup_only_first_ms": page["first_city_ms"],
            }
            for name, value in figures.items():
                samples.setdefault(name, []).append(value)
            say(
                f"run {run + 1}/{runs}: idle {figures['rss_idle_mb']:.1f} MB, after "
                f"{CITY} {figures['rss_after_city_mb']:.1f} MB, first city request "
                f"{figures['first_city_ms']:.0f} ms"
            )
    finally:
        clean_up(scratch, keep=args.keep)

    med = {name: statistics.median(values) for name, values in samples.items()}
    say(f"medians of {runs} runs:")
    for name, value in med.items():
        spread = f"min {min(samples[name]):.1f}, max {max(samples[name]):.1f}"
        say(f"  {name:<20} {value:8.1f}  ({spread})")
    ratio = med["rss_after_city_mb"] / TARGET_MB
    met = med["rss_after_city_mb"] < TARGET_MB
    say(
        f"after a city query: {med['rss_after_city_mb']:.1f} MB = {ratio:.2f} of the "
        f"{TARGET_MB:.0f} MB target ({'met' if met else 'NOT met'}); "
        f"{med['rss_after_city_mb'] / med['bare_python_mb']:.1f}x a bare interpreter; "
        f"first city request {med['first_city_ms'] / med['healthz_ms']:.0f}x /healthz"
    )
    print_last_line(
        {
            "runs": runs,
            "city": CITY,
            "median": {k: round(v, 2) for k, v in med.items()},
            "target_mb": TARGET_MB,
            "ratio_to_target": round(ratio, 3),
            "ratio_to_bare_python": round(med["rss_after_city_mb"] / med["bare_python_mb"], 2),
            "first_city_ratio_to_healthz": round(med["first_city_ms"] / med["healthz_ms"], 1),
            "target_met": met,
        }
    )


if __name__ == "__main__":
    main()
