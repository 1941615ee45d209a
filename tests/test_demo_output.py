"""What `healthnet demo` prints and how it hears "stop", without starting a node process:
the node table at 80 columns and below, whole lines, the stop signals, a resumed --data
directory and the printed token. (tests/test_demo.py runs the real thing.)"""

from __future__ import annotations

import io
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from node import demo_federation as demo
from node import tokens
from node.db.session import Session
from node.demo_terminal import Say, Stopped, StopSignals


def _say(width: int) -> tuple[Say, io.StringIO]:
    sink = io.StringIO()
    return Say(Console(file=sink, width=width, color_system=None)), sink


def _demo(root: Path, port_base: int, say: Say) -> demo.Demo:
    return demo.Demo(root, port_base, demo.load_topology(demo.DEFAULT_TOPOLOGY), say, StopSignals())


@pytest.mark.parametrize("width", [80, 72, 60, 40])
@pytest.mark.parametrize("port_base", [8100, 60000])
def test_the_node_table_shows_every_url_whole_at_any_width(width: int, port_base: int) -> None:
    say, sink = _say(width)
    shown = _demo(Path("/nonexistent"), port_base, say)
    say.table("healthnet demo federation", ("node", "region", "URL", "leader"), shown.rows())
    lines = sink.getvalue().splitlines()
    for node in shown.topology:
        url = shown.url(node)
        assert any(f"{node.key} " in line and f"{url}" in line for line in lines), (url, lines)
    if width >= 72:
        assert all(len(line) <= width for line in lines), lines
        assert "Radboud" in sink.getvalue()  # the leader folds, it is not cut
        assert "…" not in sink.getvalue()


def test_a_line_is_printed_whole_in_a_narrow_log() -> None:
    say, sink = _say(80)
    path = "/tmp/" + "very-long-directory-name/" * 6 + "serve.log"
    say(f"logs: {path}, one per node [not markup]")
    assert sink.getvalue() == f"logs: {path}, one per node [not markup]\n"


def _deliver(signum: int) -> None:
    """Send ``signum`` to this process and give Python a moment to run its handler."""
    os.kill(os.getpid(), signum)
    for _ in range(50):
        time.sleep(0.01)


@pytest.fixture
def quiet_hup() -> Iterator[None]:
    """SIGHUP restored to what it was, whatever a test did with it."""
    previous = signal.getsignal(signal.SIGHUP)
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, previous)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_each_stop_signal_raises_stopped_and_the_handlers_come_back(
    signum: int, quiet_hup: None
) -> None:
    before = signal.getsignal(signum)
    with StopSignals(), pytest.raises(Stopped) as stopped:
        _deliver(signum)
    assert stopped.value.signum == signum
    assert signal.getsignal(signum) == before


def test_a_signal_waits_while_a_child_starts_and_is_ignored_while_stopping(
    quiet_hup: None,
) -> None:
    with StopSignals() as signals:
        reached = False
        with pytest.raises(Stopped):
            with signals.held():
                _deliver(signal.SIGTERM)
                reached = True  # the held block runs to its end first
        assert reached
        signals.stopping = True
        _deliver(signal.SIGHUP)  # clean-up is not cut short


def test_a_signal_ignored_before_stays_ignored(quiet_hup: None) -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    with StopSignals():
        _deliver(signal.SIGHUP)
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN


def test_a_data_directory_is_resumed_out_loud_with_its_own_ports_and_token(tmp_path: Path) -> None:
    say, sink = _say(80)
    first = _demo(tmp_path, 8100, say)
    first.resume()
    assert "resuming" not in sink.getvalue()
    first.init_homes()
    token = first.token()
    path = tmp_path / "europe" / demo.TOKEN_FILE
    assert path.stat().st_mode & 0o777 == 0o600

    say, sink = _say(80)
    second = _demo(tmp_path, 9000, say)
    second.resume()
    second.init_homes()
    text = sink.getvalue()
    assert f"resuming the 6 demo nodes found in {tmp_path} (hub, europe, africa," in text
    assert "they were made for --port-base 8100, so they keep those ports" in text
    assert "created" not in text
    assert second.url(second.writer_node) == "http://127.0.0.1:8101"
    assert second.token() == token
    with second.database(second.writer_node) as (_settings, engine), Session(engine) as session:
        assert tokens.authenticate(session, presented=token).role == "admin"
