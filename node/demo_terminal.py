"""The demo's terminal: the stop signals that reach it and the lines printed to it.

Stopping: Ctrl-C (SIGINT), ``kill PID`` (SIGTERM) and closing the terminal (SIGHUP) all mean
"stop the six servers and clean up". Python's default for SIGTERM and SIGHUP is to die at
once, skipping every ``finally``, which left the servers running and the temporary
directory behind; so all three raise :class:`Stopped` in the main thread instead. A signal
is held back while a child process is being started (so none escapes the PID table) and
ignored once stopping has begun (so the clean-up runs to its end). A signal that was
already ignored when the demo started (``nohup``, a background job) stays ignored.

Printing: every line is printed whole (``soft_wrap``), so a path, a token or a curl line can
be copied from an 80-column log; and a closed terminal (SIGHUP) never turns a print into
an error that would cut the clean-up short.
"""

from __future__ import annotations

import json
import shlex
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, TracebackType

from rich.console import Console
from rich.table import Table

SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))
TABLE_MIN_WIDTH = 72  # below this a table becomes plain lines
HEARTBEAT = 10.0  # seconds between repeated progress lines in a log
Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


class Stopped(Exception):
    """A stop signal arrived."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StopSignals:
    """While entered, SIGINT, SIGTERM and SIGHUP raise :class:`Stopped` (see the module)."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.stopping = False
        self._held = 0
        self._previous: dict[int, Handler] = {}

    def __enter__(self) -> StopSignals:
        for signum in SIGNALS:
            if signal.getsignal(signum) is not signal.SIG_IGN:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signum
        if not self._held and not self.stopping:
            raise Stopped(signum)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Defer a stop signal to the end of the block (then raise it)."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
        if not self._held and not self.stopping and self.received is not None:
            raise Stopped(self.received)


class Say:
    """Print whole lines, never failing: a closed terminal must not stop the clean-up."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __call__(self, text: str, *, style: str | None = None) -> None:
        try:
            self.console.print(text, soft_wrap=True, markup=False, style=style)
        except OSError:
            pass

    def table(self, title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
        """A table whose third column (a URL) is never cut: it does not wrap, the last
        column folds, and under ``TABLE_MIN_WIDTH`` columns the rows are plain lines."""
        if self.console.width < TABLE_MIN_WIDTH:
            for row in rows:
                self("  ".join(row))
            return
        table = Table(title=title)
        for i, name in enumerate(header):
            last = i == len(header) - 1
            width = max(len(r[i]) for r in rows) if i == 2 else None
            table.add_column(name, no_wrap=not last, overflow="fold", min_width=width)
        for row in rows:
            table.add_row(*row)
        try:
            self.console.print(table)
        except OSError:
            pass


    def how_to_write(
        self, key: str, url: str, token: str, kept: Path, member: dict[str, str]
    ) -> None:
        """The token and a curl line that writes with it, each whole, ready to paste."""
        curl = shlex.join(
            [
                "curl", "-X", "POST", f"{url}/admin/members",
                "-H", f"Authorization: Bearer {token}",
                "-H", "Content-Type: application/json",
                "-d", json.dumps(member),
            ]
        )  # fmt: skip
        self(f"admin token for {key} ({url}), kept in {kept}:")
        self(f"  {token}")
        self("write a member with it:")
        self(f"  {curl}")
        self(f"API and sign-in: {url}/docs (Authorize, then paste the token)")

    def consoles(self, rows: list[tuple[str, str, str]]) -> None:
        """Each node's console and the admin token that signs in to it, one whole line
        each (a token cut at the terminal's edge cannot be pasted)."""
        self("the leaders' console of each node: open it and sign in with its token:")
        for key, url, token in rows:
            self(f"  {key}: {url}  token {token}")


@contextmanager
def progress(say: Say, title: str) -> Iterator[Callable[[str], None]]:
    """A long wait's news: on a terminal one spinner line, updated in place; in a log or a
    pipe a plain line whenever the news changes, and every ``HEARTBEAT`` seconds while it
    does not (so a log shows the demo is alive, not hung)."""
    start = time.monotonic()
    if say.console.is_terminal:
        status = say.console.status(title)
        try:
            status.start()
        except OSError:
            pass
        try:
            yield lambda text: status.update(f"{title}: {text} ({time.monotonic() - start:.0f} s)")
        finally:
            try:
                status.stop()
            except OSError:
                pass
        return
    last_text, last_time = "", start

    def update(text: str) -> None:
        nonlocal last_text, last_time
        now = time.monotonic()
        if text != last_text or now - last_time >= HEARTBEAT:
            say(f"{title}: {text} ({now - start:.0f} s)")
            last_text, last_time = text, now

    yield update
