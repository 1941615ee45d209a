"""``healthnet`` commands run by the benches: each waited for with a bound, and any
process left behind stopped by its own PID (never by name, never a whole group).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from benchlib.provenance import REPO


def healthnet_command() -> list[str]:
    """The ``healthnet`` console script next to this interpreter (the project's .venv),
    or the same CLI through ``-c`` where it is not installed as a script."""
    exe = os.path.join(os.path.dirname(sys.executable), "healthnet")
    if os.path.exists(exe):
        return [exe]
    return [sys.executable, "-c", "from node.cli import app; app()"]


def base_env(**overrides: str) -> dict[str, str]:
    """This environment without any inherited ``HEALTHNET_*`` setting, plus ``overrides``
    as ``HEALTHNET_<name>``: a node's config comes from its home and from the bench only.
    ``COLUMNS`` is wide so that rich does not wrap what a command prints."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHNET_")}
    env["COLUMNS"] = "200"
    env.update({f"HEALTHNET_{k}": v for k, v in overrides.items()})
    return env


def run_cli(*args: str, timeout: float = 300) -> str:
    """Run one ``healthnet`` command to completion (killed after ``timeout``); its stdout."""
    done = subprocess.run(
        [*healthnet_command(), *args],
        capture_output=True,
        text=True,
        env=base_env(),
        timeout=timeout,
        cwd=REPO,
    )
    if done.returncode != 0:
        raise RuntimeError(f"healthnet {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout


def run_cli_parallel(commands: list[list[str]], timeout: float = 300) -> list[str]:
    """Several ``healthnet`` commands at once (each ``init`` spends most of its time
    importing Python); their stdouts in order. Any still running on error is killed."""
    procs = [
        subprocess.Popen(
            [*healthnet_command(), *c],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=base_env(),
            cwd=REPO,
        )
        for c in commands
    ]
    outs = []
    try:
        for c, p in zip(commands, procs, strict=True):
            stdout, stderr = p.communicate(timeout=timeout)
            if p.returncode != 0:
                raise RuntimeError(f"healthnet {' '.join(c)} failed: {stderr[-2000:]}")
            outs.append(stdout)
    finally:
        for p in procs:
            kill(p)
    return outs


def kill(proc: subprocess.Popen[bytes] | subprocess.Popen[str], wait: float = 10) -> None:
    """SIGKILL to this PID if it still runs, and reap it (at most ``wait`` seconds)."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(wait)


def stop(proc: subprocess.Popen[bytes], term_wait: float = 15, kill_wait: float = 5) -> None:
    """SIGTERM to this PID (a server finishes its requests and closes its database), then
    SIGKILL if it has not exited after ``term_wait`` seconds."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(term_wait)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(kill_wait)
