"""A real ``healthnet import`` killed with SIGKILL part way through a large file.

The import commits its rows in batches, one transaction each (record rows, sequence
numbers, chain head, digest and the search projection together). Killed at any moment,
the home must hold whole batches only: a dense, verifying chain from seq 1, as many
directory entries as current records, and a re-run of the same import that signs exactly
the rows that were missing and leaves the rest unchanged.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
from pathlib import Path

import pytest
from support.procs import HEALTHNET, child_env, cli, kill_pid, poll_until

from node.importer import BATCH

pytestmark = pytest.mark.slow

ROWS = 12 * BATCH


def write_members(path: Path, rows: int) -> None:
    places = [("NL", "Amsterdam", 52.37, 4.89), ("DE", "Köln", 50.94, 6.96)]
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["key", "name", "kind", "country", "city", "latitude", "longitude", "topics"])
        for i in range(rows):
            country, city, lat, lon = places[i % 2]
            name = f"{city} Clinic {i:06d}"
            out.writerow([f"k{i:06d}", name, "clinic", country, city, lat, lon, "cardiology;care"])


def held(db: Path) -> tuple[int, int, int, int]:
    """(last_seq, count, records, entries) as committed, read beside the running import."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        last_seq, count = conn.execute(
            "SELECT last_seq, count FROM origin_sequences WHERE last_seq > 0"
        ).fetchone() or (0, 0)
        records = conn.execute("SELECT count(*) FROM records").fetchone()[0]
        entries = conn.execute("SELECT count(*) FROM entries").fetchone()[0]
    return int(last_seq), int(count), int(records), int(entries)


def export_and_verify(home: Path, out: Path, public_key: str) -> list[int]:
    """Export the home, check every signature offline, and return the seqs exported."""
    cli("export", home, "-o", out)
    seqs = [json.loads(line)["record"]["seq"] for line in out.read_text().splitlines()]
    result = cli("verify", out, "--key", public_key, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return seqs


def test_import_killed_mid_run_leaves_whole_batches(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cli("init", home, "--name", "Kill Test", "--region", "europe", "--url", "http://127.0.0.1:9")
    public_key = json.loads(cli("info", home).stdout)["public_key"]
    data = tmp_path / "members.csv"
    write_members(data, ROWS)
    db = home / "node.db"

    log = (tmp_path / "import.log").open("wb")
    importer = subprocess.Popen(
        [str(HEALTHNET), "import", str(home), str(data)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=child_env(),
    )
    try:
        # Kill it once at least one batch is in and before the last one is.
        poll_until(
            lambda: 0 < held(db)[0] < ROWS - BATCH or importer.poll() is not None,
            timeout=120,
            interval=0.01,
            what="the import to commit its first batch",
        )
        assert importer.poll() is None, "the import ended before it could be killed"
        kill_pid(importer)
    finally:
        if importer.poll() is None:
            kill_pid(importer)
        log.close()

    last_seq, count, records, entries = held(db)
    assert 0 < last_seq < ROWS
    assert last_seq % BATCH == 0, f"a partial batch was committed: {last_seq}"
    assert count == records == last_seq  # dense: nothing above the tip, no gap below it
    assert entries == records  # the search projection committed with its records
    assert export_and_verify(home, tmp_path / "killed.jsonl", public_key) == list(
        range(1, last_seq + 1)
    )

    again = cli("import", home, data, timeout=300)
    assert f"{ROWS - last_seq} created" in again.stdout, again.stdout
    assert f"{last_seq} unchanged" in again.stdout, again.stdout
    assert held(db) == (ROWS, ROWS, ROWS, ROWS)
    assert export_and_verify(home, tmp_path / "done.jsonl", public_key) == list(range(1, ROWS + 1))
