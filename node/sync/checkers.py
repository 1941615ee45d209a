"""The executors that check a peer's pages: threads for a page checked as it is stored,
worker processes for an origin far behind (``node.sync.verifier_pool``).

Split from ``node.sync.puller``, which decides what to pull; this decides where the
signatures are checked. Both are made on first use, so an idle node holds neither. A
failed process pool is dropped for good: ``ingest_page`` can always check a page inline.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor, ThreadPoolExecutor

from federation.checks import Checked
from federation.trust import Trust
from node.sync import verifier_pool

logger = logging.getLogger(__name__)


class Checkers:
    def __init__(self) -> None:
        # Ed25519 verification releases the GIL: two threads verify a page about 1.7x as
        # fast on a 2-core machine.
        self._threads: ThreadPoolExecutor | None = None
        self.processes: ProcessPoolExecutor | None = None
        self.failed = False  # the process pool broke: pages are checked inline from now on

    def threads(self) -> ThreadPoolExecutor:
        if self._threads is None:
            self._threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="verify")
        return self._threads

    def start(self, body: bytes, trust: Trust, origin: str) -> asyncio.Future[Checked] | None:
        """The check of a page's bytes started in a worker process, or None when the pool
        is (or just became) unusable."""
        if self.failed:
            return None
        try:
            if self.processes is None:
                self.processes = verifier_pool.make_pool()
            future = verifier_pool.submit(self.processes, body, trust, origin)
        except (BrokenExecutor, RuntimeError, OSError) as exc:
            self._broke(exc)
            return None
        return asyncio.wrap_future(future)

    async def verdict(self, checking: asyncio.Future[Checked]) -> Checked | None:
        """A started check's result, or None when the pool broke meanwhile."""
        try:
            return await checking
        except (BrokenExecutor, OSError) as exc:
            self._broke(exc)
            return None

    def _broke(self, exc: Exception) -> None:
        logger.warning("verify processes failed (%s); checking pages inline", exc)
        self._drop_processes()
        self.failed = True

    def _drop_processes(self) -> None:
        if self.processes is not None:
            self.processes.shutdown(wait=False, cancel_futures=True)
            self.processes = None

    def close(self) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=False)
            self._threads = None
        self._drop_processes()
