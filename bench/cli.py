"""How fast the ``healthnet`` command starts: ``--help``, ``info HOME`` and a usage error.

Run: ``.venv/bin/python bench/cli.py [--runs N]``.

Each command runs as its own process, as a user types it, ``--runs`` times (default 15),
interleaved with the yardstick so that a busy spell hits all of them alike. The yardstick
is this machine's floor for any Python command, measured in the same run: the same
interpreter starting and exiting (``python -c pass``), and starting with typer and rich
imported (what any typer CLI pays). Figures are medians of wall time; each is printed with
its ratio to the bare interpreter. The target (issue 11): ``--help`` and ``info`` under
1 s on this machine.

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

from benchlib.output import print_last_line, say  # noqa: E402
from benchlib.processes import base_env, healthnet_command, run_cli  # noqa: E402
from benchlib.provenance import REPO  # noqa: E402
from benchlib.scratch import clean_up, scratch_dir  # noqa: E402

TARGET_SECONDS = 1.0
TIMEOUT = 60.0  # one command; a hung start is a failure, not a wait


def timed(argv: list[str], *, ok: tuple[int, ...] = (0,)) -> float:
    """Wall seconds of one process from spawn to exit (bounded by ``TIMEOUT``)."""
    t0 = time.perf_counter()
    done = subprocess.run(
        argv, capture_output=True, env=base_env(), cwd=REPO, timeout=TIMEOUT, check=False
    )
    elapsed = time.perf_counter() - t0
    if done.returncode not in ok:
        raise RuntimeError(f"{argv} exited {done.returncode}: {done.stderr[-500:]!r}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    runs = max(3, min(args.runs, 200))

    scratch = scratch_dir("healthnet-bench-cli-")
    try:
        home = scratch / "home"
        run_cli("init", str(home), "--name", "Bench", "--region", "europe",
                "--url", "http://127.0.0.1:9")  # fmt: skip
        cli = healthnet_command()
        cases: dict[str, tuple[list[str], tuple[int, ...]]] = {
            "python_bare": ([sys.executable, "-c", "pass"], (0,)),
            "python_typer_rich": ([sys.executable, "-c", "import typer, rich.console"], (0,)),
            "help": ([*cli, "--help"], (0,)),
            "info": ([*cli, "info", str(home)], (0,)),
            "usage_error": ([*cli, "init", str(scratch / "x")], (2,)),
        }
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for argv, ok in cases.values():
            timed(argv, ok=ok)  # warm the page cache once, unmeasured
        for _ in range(runs):
            for name, (argv, ok) in cases.items():
                samples[name].append(timed(argv, ok=ok))
    finally:
        clean_up(scratch, keep=args.keep)

    medians = {name: statistics.median(values) for name, values in samples.items()}
    floor = medians["python_bare"]
    say(f"healthnet start-up, median of {runs} runs each (wall seconds):")
    for name, value in medians.items():
        spread = f"min {min(samples[name]):.3f}, max {max(samples[name]):.3f}"
        say(f"  {name:<18} {value:.3f} s  ({value / floor:.1f}x bare python; {spread})")
    met = medians["help"] < TARGET_SECONDS and medians["info"] < TARGET_SECONDS
    say(f"target: --help and info under {TARGET_SECONDS:.0f} s: {'met' if met else 'NOT met'}")
    print_last_line(
        {
            "runs": runs,
            "median_seconds": {k: round(v, 4) for k, v in medians.items()},
            "ratio_to_bare_python": {k: round(v / floor, 2) for k, v in medians.items()},
            "target_seconds": TARGET_SECONDS,
            "target_met": met,
        }
    )


if __name__ == "__main__":
    main()
