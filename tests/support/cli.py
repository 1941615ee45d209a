"""Running the ``healthnet`` CLI in-process for tests."""

from __future__ import annotations

import pytest
from click.testing import Result
from rich.console import Console
from typer.testing import CliRunner

from node import cli, cli_console

runner = CliRunner()


def hn(*args: object, code: int | None = 0) -> Result:
    """Run ``healthnet ARGS`` in-process with wide, colourless consoles (no wrapping)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli_console, "out", Console(width=400, color_system=None))
        mp.setattr(cli_console, "err", Console(stderr=True, width=400, color_system=None))
        result = runner.invoke(cli.app, [str(a) for a in args])
    if code is not None:
        crash = result.exception if not isinstance(result.exception, SystemExit) else None
        assert crash is None and result.exit_code == code, (
            f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}",
            crash,
        )
    return result
