"""``healthnet demo``: a real local federation on 127.0.0.1, from one command.

It starts the hub and five continental nodes, each its own ``healthnet serve`` process
(node/demo_federation.py), admits and seeds them, and shows sync progress until every node
holds every origin's records with the same digest. Ctrl-C, ``kill`` or closing the
terminal stops every process it started, by PID (node/demo_terminal.py), and removes the
temporary directory it made. With ``--data DIR`` the homes persist and a second run says
it resumes them.

What it prints is what a newcomer needs next: where the data and the logs are, each node
as it comes up (six processes loading the application take most of a minute on a small
machine), the URLs whole at any width, and a token with a curl line that writes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from node.demo_federation import DEFAULT_TOPOLOGY, LOG_NAME, Demo, load_topology
from node.demo_terminal import Say, Stopped, StopSignals, progress

__all__ = ["DEFAULT_TOPOLOGY", "run"]


def run(
    data: Path | None,
    port_base: int,
    topology: Path,
    *,
    exit_when_synced: bool,
    console: Console,
    timeout: float = 180.0,
) -> int:
    """Run the demo under ``data`` (a new temporary directory when None, removed at the end;
    a directory the user gave is never removed) until a stop signal, or until every node
    agrees with ``exit_when_synced``. The exit status: 0, or 1 when a node failed."""
    say = Say(console)
    nodes = load_topology(topology)
    with _own_settings(say), StopSignals() as signals:
        with signals.held():
            root = Path(tempfile.mkdtemp(prefix="healthnet-demo-")) if data is None else data
        root = root.resolve()
        demo = Demo(root, port_base, nodes, say, signals)
        try:
            return _run(demo, temporary=data is None, exit_when_synced=exit_when_synced,
                        timeout=timeout)  # fmt: skip
        except (Stopped, KeyboardInterrupt) as exc:
            name = exc.args[0] if isinstance(exc, Stopped) else "SIGINT"
            say(f"{name}: stopping the federation")
            return 0
        finally:
            signals.stopping = True
            demo.stop()
            if data is None:
                shutil.rmtree(root, ignore_errors=True)
                say(f"removed {root}" if not root.exists() else f"could not remove {root}")


@contextmanager
def _own_settings(say: Say) -> Iterator[None]:
    """Without ``HEALTHNET_*`` while the demo runs (restored after), so a real node's
    ``HEALTHNET_DATABASE_URL`` never reaches the demo's homes or its six processes."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("HEALTHNET_")}
    if saved:
        say(f"ignoring {', '.join(sorted(saved))}: the demo's nodes use only their own homes")
    for name in saved:
        del os.environ[name]
    try:
        yield
    finally:
        os.environ.update(saved)


def _run(demo: Demo, *, temporary: bool, exit_when_synced: bool, timeout: float) -> int:
    say, hub = demo.say, demo.hub
    kept = "temporary: removed when the demo stops" if temporary else "kept: --data again resumes"
    say(f"healthnet demo: the hub and {len(demo.topology) - 1} regional nodes on 127.0.0.1")
    say(f"data: {demo.data} ({kept})")
    names = ", ".join(n.key for n in demo.topology)
    say(f"logs: {demo.data}/NODE/{LOG_NAME}, one per node (NODE: {names})")
    demo.resume()
    demo.data.mkdir(parents=True, exist_ok=True)
    demo.init_homes()
    demo.start()
    demo.admit_all()
    demo.seed()
    with progress(say, "syncing") as update:
        ok = demo.wait_in_sync(timeout, update)
    say.table("healthnet demo federation", ("node", "region", "URL", "leader"), demo.rows())
    if not ok:
        say(f"the nodes did not agree in time; see {demo.data}/NODE/{LOG_NAME}", style="red")
        return 1
    say("all nodes agree: every node serves the whole world's directory")
    say(f"worldwide view (hub): {demo.url(hub)}/world")
    demo.how_to_write()
    if exit_when_synced:
        return 0
    say(
        f"Ctrl-C, closing this terminal or `kill {os.getpid()}` stops all "
        f"{len(demo.topology)} nodes" + (" and removes the data" if temporary else "")
    )
    while all(p.poll() is None for p in demo.procs.values()):
        time.sleep(1)
    for node in demo.topology:
        if demo.procs[node.key].poll() is not None:
            demo.tail(node)
            say(f"{node.key} exited; stopping the others", style="red")
    return 1
