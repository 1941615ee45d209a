"""Worker processes that end with the process that started them.

A ``ProcessPoolExecutor`` worker waits for work on a queue whose write end it holds
itself, so when its parent dies without shutting the pool down (SIGKILL, a crash, a
server stopped mid-pull) the worker never sees end-of-file and lives on, idle, for good.
The initializer here gives each worker a thread that notices the parent is gone and ends
the worker. Standard library only: a spawned worker imports this module first.
"""

from __future__ import annotations

import os
import threading
import time

POLL_SECONDS = 1.0


def exit_with_parent(parent: int) -> None:
    """``ProcessPoolExecutor(initializer=exit_with_parent, initargs=(os.getpid(),))``."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(POLL_SECONDS)
        os._exit(0)  # the parent is gone: nobody is waiting for this worker's answers

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
