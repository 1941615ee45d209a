"""An export carries the checkpoint cosignatures, and ``healthnet verify --hub-key``
checks them offline: "this record was in the log that N independent nodes saw"
(docs/PROTOCOL.md 10.8). In process: three nodes that compared notes, one export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.cli import hn
from support.clock import Clock
from support.factories import member_body
from support.federation_world import run, sqlite_urls
from support.fedkit import Federation

from federation.witness import Checkpoint, cosign
from schemas.geo import Region
from schemas.instants import format_utc


def test_an_export_shows_who_saw_each_log(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEALTHNET_CHECKPOINT_INTERVAL_SECONDS", "0")  # collect at every pull
    fed = Federation(tmp_path, clock, sqlite_urls(tmp_path))

    async def scenario() -> None:
        fed.add("hub", Region.NORTH_AMERICA, hub=True, name="Mayo Clinic")
        europe = fed.add("europe", Region.EUROPE, name="Radboud UMC")
        fed.add("asia", Region.ASIA, name="St. Luke's")
        await fed.post(europe, "/admin/members", member_body(region="europe", country="NL"))
        await fed.converge()
        await fed.converge()  # a second round: every node has collected the others' word
        await fed.close()

    run(scenario())
    hub, europe, asia = fed.nodes["hub"], fed.nodes["europe"], fed.nodes["asia"]
    hub_key = hub.app.state.runtime.key
    out = tmp_path / "europe.jsonl"
    hn("export", europe.settings.home, "-o", out)
    lines = out.read_text(encoding="utf-8").splitlines()
    statements = [json.loads(x) for x in lines if '"healthnet.cosignature.v1"' in x]
    assert statements and all(lines.index(json.dumps(s, separators=(",", ":"))) > 0
                              for s in statements)  # fmt: skip

    result = hn("verify", out, "--hub-key", hub_key.public_b64)
    said = result.stdout
    assert "0 failures" in said
    # Europe's log: the hub and Asia co-signed it (Europe's own word is not counted).
    europe_line = next(x for x in said.splitlines() if x.startswith(europe.node_id + ":"))
    assert "in the log that 2 independent nodes saw" in europe_line
    assert hub.node_id in europe_line and asia.node_id in europe_line
    hub_line = next(x for x in said.splitlines() if x.startswith(hub.node_id + ":"))
    assert "2 independent nodes" in hub_line  # Europe (signed at export) and Asia

    # Without the hub key the cosignatures cannot be checked, and the command says so.
    europe_key = europe.app.state.runtime.key.public_b64
    only_europe = tmp_path / "only-europe.jsonl"
    only_europe.write_text(
        "\n".join(x for x in lines if europe.node_id in x.split('"origin":"', 1)[-1][:30]
                  or '"healthnet.cosignature.v1"' in x) + "\n", encoding="utf-8",
    )  # fmt: skip
    said = hn("verify", only_europe, "--key", europe_key).stdout
    assert "checkpoint cosignatures not checked: give --hub-key" in said

    # A witness that signed another head for a size the file holds: a split view, named.
    size = max(json.loads(x)["record"]["seq"] for x in lines
               if x.startswith('{"record"') and f'"origin":"{europe.node_id}"' in x)  # fmt: skip
    forged = cosign(
        hub_key, witness=hub.node_id, time=format_utc(clock()),
        checkpoint=Checkpoint(europe.node_id, size, "sha256:" + "A" * 43),
    ).statement()  # fmt: skip
    split = tmp_path / "split.jsonl"
    split.write_text("\n".join([*lines, json.dumps(forged)]) + "\n", encoding="utf-8")
    result = hn("verify", split, "--hub-key", hub_key.public_b64, code=1)
    assert f"co-signed another head for {europe.node_id} at seq {size}" in result.stdout
    assert "a split view" in result.stdout

    # A cosignature altered after signing is named by its member.
    altered = {**statements[0], "time": "2020-01-01T00:00:00Z"}
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([*lines, json.dumps(altered)]) + "\n", encoding="utf-8")
    result = hn("verify", bad, "--hub-key", hub_key.public_b64, code=1)
    assert "cosignature.sig" in result.stdout
