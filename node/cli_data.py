"""``healthnet token``, ``import``, ``export`` and ``verify``: the directory's data and
who may write it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from node import cli_console as console
from node.cli_console import KEY_HELP, HomeArg
from node.roles import Role

token_app = typer.Typer(
    help="Bearer tokens for writing: create, list, revoke.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

# Both spellings: the files, routes and pages say "members" and "events".
KINDS = {"member": "member", "members": "member", "event": "event", "events": "event"}


@token_app.command("create")
def token_create(
    home: HomeArg,
    role: Annotated[
        Role, typer.Option(metavar="ROLE", help="editor (writes) or admin (also the audit log).")
    ] = Role.EDITOR,
    label: Annotated[str, typer.Option(metavar="TEXT", help="Who or what holds it.")] = "",
) -> None:
    """Create a token and print it once; only its hash is stored."""
    from node import tokens
    from node.db.session import Session, writer
    from node.runtime import utc_now

    engine = console.database(console.settings(home))
    with Session(writer(engine), expire_on_commit=False) as session:
        row, plaintext = tokens.create_token(session, role=role, label=label, now=utc_now())
        session.commit()
    console.err.print(f"token {row.id} ({row.role}) created; it is shown only now:")
    print(plaintext)  # noqa: T201  (stdout alone, so that a script can capture it)


@token_app.command("revoke")
def token_revoke(
    home: HomeArg,
    token_id: Annotated[str, typer.Argument(metavar="TOKEN_ID", help="As `token list` shows it.")],
) -> None:
    """Revoke a token at once."""
    from federation.errors import HealthnetError
    from node import tokens
    from node.db.session import Session, writer
    from node.runtime import utc_now

    engine = console.database(console.settings(home))
    with Session(writer(engine)) as session:
        try:
            tokens.revoke_token(session, token_id=token_id, now=utc_now())
        except HealthnetError as exc:
            console.fail(exc)
        session.commit()
    console.say(f"token {token_id} revoked")


@token_app.command("list")
def token_list(home: HomeArg) -> None:
    """List tokens: id, role, when created and revoked, label; never a secret."""
    from node import tokens
    from node.db.session import Session

    engine = console.database(console.settings(home))
    with Session(engine) as session:
        rows = tokens.list_tokens(session)
    if not rows:
        console.say("no tokens; create one with: healthnet token create HOME")
    for t in rows:
        state = f"revoked {t.revoked_at}" if t.revoked_at else "active"
        label = f"  {t.label}" if t.label else ""
        console.say(f"{t.id}  {t.role:<6}  created {t.created_at}  {state}{label}")


def import_file(
    home: HomeArg,
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="CSV (, or ;), .xlsx or JSONL.", show_default=False),
    ],
    kind: Annotated[
        str | None,
        typer.Option(metavar="KIND", help="members or events. Default: told by the columns."),
    ] = None,
) -> None:
    """Import members or events from a file.

    Rows are matched by their key column, so importing a file again changes only what
    changed. Every bad row is named by line, field and reason; the good rows are kept.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from node import import_rows, importer
    from node.runtime import utc_now

    console.readable_file(file)
    if kind is not None and kind.strip().lower() not in KINDS:
        console.fail(f"--kind: {kind!r} is not members or events", 2)
    settings = console.settings(home)
    engine = console.database(settings)
    key = console.signing_key(settings)
    chosen = KINDS[kind.strip().lower()] if kind else import_rows.detect_kind(file)
    with Progress(
        TextColumn("importing {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console.err,
        transient=False,
    ) as progress:
        task = progress.add_task(f"{chosen}s", total=import_rows.row_count(file))
        report = importer.run_import(
            engine,
            path=file,
            kind=chosen,
            key=key,
            origin=settings.node_id,
            region=settings.region.value,
            clock=utc_now,
            progress=lambda n: progress.advance(task, n),
        )
    for error in report.errors:
        console.err.print(str(error), style="red", markup=False, highlight=False)
    console.say(
        f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.rejected_rows} rejected"
    )
    if report.errors:
        raise typer.Exit(1)


def export(
    home: HomeArg,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Default: standard output."),
    ] = None,
) -> None:
    """Write every signed record held, as JSONL, then the checkpoint cosignatures.

    Records come in origin and sequence order, each as its signed envelope, so that
    `healthnet verify` (or anyone with the origins' keys) can check them offline. The
    cosignatures at the end (this node's, signed now, and every other witness's held)
    let `healthnet verify --hub-key` say how many nodes saw each origin's log.
    """
    import json

    from node import checkpoints, roster
    from node.db import exports
    from node.db.engine import make_engine
    from node.db.session import Session
    from node.home import load_key
    from node.runtime import utc_now

    settings = console.settings(home)
    engine = make_engine(settings.db_url)
    sink = output.open("w", encoding="utf-8") if output else sys.stdout
    count = cosigned = 0
    try:
        with Session(engine) as session:
            for line in exports.envelopes(session):
                sink.write(line + "\n")
                count += 1
            trust = roster.load_trust(session, settings)
            statements = checkpoints.served(
                session, me=settings.node_id, key=load_key(settings), now=utc_now(), trust=trust
            )
        for statement in statements:
            sink.write(json.dumps(statement, separators=(",", ":")) + "\n")
            cosigned += 1
    finally:
        engine.dispose()
        if output:
            sink.close()
    console.err.print(f"exported {count} records and {cosigned} checkpoint cosignatures")


def verify(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="An export (JSONL).", show_default=False)
    ],
    key: Annotated[
        list[str] | None,
        typer.Option(
            metavar="[ID=]KEY",
            help=f"An origin's public key, {KEY_HELP}; the key id is ed25519:1 unless given."
            " Repeat for more keys.",
            show_default=False,
        ),
    ] = None,
    hub_key: Annotated[
        str | None,
        typer.Option(
            metavar="KEY",
            help="The hub's public key instead: the roster in the file (signed by it) gives"
            " every origin's keys, and the checkpoint cosignatures are checked too.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check an export's signatures offline.

    Every record that fails is named, with the reason; the exit status is 1 if any did.
    With --hub-key, it also says, per origin, how many independent nodes co-signed a
    checkpoint of the log the file holds.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from federation import keys
    from federation.errors import HealthnetError
    from federation.witness import witness_keys
    from node.verifier import keys_by_id, roster_trust, trust_keys, verify_lines

    console.readable_file(file)
    if not key and not hub_key:
        console.fail("give the origin's key (--key) or the hub's (--hub-key)", code=2)
    witnesses = None
    if hub_key:
        try:
            with file.open(encoding="utf-8") as fh:
                trust = roster_trust(fh, console.public_key(hub_key))
        except HealthnetError as exc:
            console.fail(f"{file}: {exc}")
        key_for, witnesses = trust_keys(trust), witness_keys(trust)
    else:
        public: dict[str, Ed25519PublicKey] = {}
        for item in key or []:
            key_id, _, text = item.rpartition("=") if "=" in item else ("ed25519:1", "", item)
            public[key_id or "ed25519:1"] = keys.public_key(console.public_key(text))
        key_for = keys_by_id(public)
    with file.open(encoding="utf-8") as fh:
        verdict = verify_lines(fh, key_for, witnesses=witnesses)
    for failure in verdict.failures:
        console.out.print("FAIL " + failure, style="red", markup=False, highlight=False)
    for note in verdict.notes:
        console.say(note)
    for origin, seen in sorted(verdict.witnessed.items()):
        sizes = ", ".join(f"{w} at seq {n}" for w, n in sorted(seen.items()))
        console.say(f"{origin}: in the log that {len(seen)} independent nodes saw ({sizes})")
    console.say(f"{verdict.checked} records checked, {len(verdict.failures)} failures")
    if not verdict.ok:
        raise typer.Exit(1)
