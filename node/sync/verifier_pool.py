"""Checking pages in worker processes while the puller stores the previous page.

An origin pulled from far behind (a new node, a ``resync``) arrives as hundreds of full
pages, and every record in them is checked before it is stored: shape, roster key, body
hash, body schema, scope and the Ed25519 signature. Those checks are pure and CPU-bound
(pydantic, canonical JSON, Ed25519: about three quarters of the work of a page), so they
run here, in other processes, on the page after the one the puller is writing. The
puller's own thread then only parses, merges and stores, and the cores work side by side.

What crosses the process boundary is small: the page's response bytes go in (a worker
parses them with the same ``loads`` as the client, so it checks exactly the records the
puller holds: ``federation.checks.check_page_bytes``), and for each record that passed,
its canonical header and body bytes come back, with the first failure as (reason, detail)
strings. The verdict is a ``federation.checks.Checked``, the same thing ``ingest_page``
computes inline; nothing is stored from a page whose check has not come back.

The pool is made on first use, for a pull that is far behind; an incremental pull never
starts a process. Workers are spawned (not forked: the puller runs threads and an event
loop), stopped with the puller, and end by themselves if the puller's process dies
(``node.worker_guard``). If the pool breaks, the puller checks inline from then
on (``ingest_page`` always can).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Executor, Future, ProcessPoolExecutor

from federation.checks import Checked, check_page_bytes
from federation.trust import Trust
from node.worker_guard import exit_with_parent

# A pull that is this many records behind the peer checks its pages in the pool.
FAR_BEHIND = 2_000

# One page is checked ahead of the one being stored, so one worker is all the pipeline
# keeps busy: with the puller's own thread that is two cores, and about 65 MB more memory
# (a worker imports pydantic, the schemas and cryptography).
WORKERS = 1


def make_pool() -> ProcessPoolExecutor:
    """Spawned workers that end when this process ends, however it ends."""
    return ProcessPoolExecutor(
        max_workers=WORKERS,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=exit_with_parent,
        initargs=(os.getpid(),),
    )


def submit(pool: Executor, body: bytes, trust: Trust, origin: str) -> Future[Checked]:
    """Check a records response (its bytes, as received) on ``pool``. The worker runs
    ``federation.checks.check_page_bytes``, which needs ``federation`` and ``schemas``
    only (a spawned worker also runs the parent's main module's imports, as any spawned
    process does; ``healthnet``'s are lazy)."""
    return pool.submit(check_page_bytes, body, trust, origin)
