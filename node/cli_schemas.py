"""``healthnet schemas``: write, or check, the published JSON Schema files.

The files under ``schemas/json/`` are committed so that a change to the wire models shows up
as a readable diff of the published contract; ``--check`` is what CI (and
``tests/test_json_schemas_documents.py``) runs to catch models changed without regenerating them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from node import cli_console as console

# Beside schemas/published.py, found without importing it (and with it every model).
PUBLISHED_DIR = Path(__file__).resolve().parents[1] / "schemas" / "json"
REGENERATE = "healthnet schemas"


def stale(directory: Path, expected: dict[str, str]) -> list[str]:
    """Every way ``directory`` differs from the generated files, one line each."""
    problems = []
    for name, text in expected.items():
        path = directory / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{name}: out of date")
    if directory.is_dir():
        problems += [
            f"{p.name}: no longer generated; delete it"
            for p in sorted(directory.glob("*.json"))
            if p.name not in expected
        ]
    return problems


def schemas(
    check: Annotated[
        bool, typer.Option("--check", help="Only compare; exit 1 if a file is stale.")
    ] = False,
    out_dir: Annotated[
        Path,
        typer.Option("--out", metavar="DIR", help="Directory of the files.", file_okay=False),
    ] = PUBLISHED_DIR,
) -> None:
    """Write (or --check) the wire format's JSON Schemas."""
    from schemas import published

    out, err = console.out, console.err
    expected = published.files()
    problems = stale(out_dir, expected)
    if check:
        for problem in problems:
            err.print(escape(f"{out_dir / problem}"), soft_wrap=True)
        if problems:
            err.print(f"[red]stale:[/] run `{REGENERATE}` to regenerate the published schemas")
            raise typer.Exit(1)
        out.print(f"{len(expected)} files up to date in {escape(str(out_dir))}")
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in expected.items():
        path = out_dir / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8", newline="\n")
            out.print(f"wrote {escape(str(path))}")
    for problem in problems:
        if "no longer generated" in problem:
            err.print(escape(f"{out_dir / problem}"), soft_wrap=True)
    out.print(f"{len(expected)} files in {escape(str(out_dir))}")
