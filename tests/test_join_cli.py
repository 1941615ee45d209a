"""``healthnet join``, ``join-status`` and ``roster requests|approve|decline``, in process:
the applicant's HTTP calls are routed to the hub's app through a TestClient."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from support.cli import hn

from node.app import create_app
from node.settings import NodeSettings


@pytest.fixture
def homes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    hub, eu = tmp_path / "hub", tmp_path / "eu"
    hn("init", hub, "--name", "Mayo Clinic", "--region", "north-america", "--url",
       "http://hub.test", "--hub")  # fmt: skip
    hn("init", eu, "--name", "Radboud UMC", "--region", "europe", "--url", "http://eu.test")
    app = create_app(NodeSettings.load(hub), schedule=False)
    client = TestClient(app)

    def post(url: str, *, json: Any, timeout: float) -> httpx.Response:
        return client.post(urlsplit(url).path, json=json)

    def get(url: str, *, timeout: float) -> httpx.Response:
        return client.get(urlsplit(url).path)

    monkeypatch.setattr(httpx, "post", post)
    monkeypatch.setattr(httpx, "get", get)
    yield hub, eu
    client.close()
    app.state.runtime.engine.dispose()


def info(home: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(hn("info", home).stdout)
    return data


def join(hub: Path, eu: Path, code: int = 0) -> Any:
    key = info(hub)["public_key"]
    return hn("join", eu, "--hub-url", "http://hub.test", "--hub-key", key, "--contact",
              "reshape@radboudumc.nl", code=code)  # fmt: skip


def test_join_decline_join_again_approve(homes: tuple[Path, Path]) -> None:
    hub, eu = homes
    me = info(eu)
    assert re.fullmatch(r"([A-Z2-7]{4}-){3}[A-Z2-7]{4}", me["fingerprint"])

    out = join(hub, eu).stdout
    first = re.search(r"join request ([0-9a-f]{16}) sent", out)
    assert first, out
    assert f"read this fingerprint to the hub's operator: {me['fingerprint']}" in out
    assert "healthnet join-status" in out
    assert "now follows the hub" in out
    assert NodeSettings.load(eu).hub_key == info(hub)["public_key"]  # the key is pinned

    listing = hn("roster", "requests", hub).stdout
    assert first.group(1) in listing and me["fingerprint"] in listing and "Radboud UMC" in listing
    assert "pending" in hn("join-status", eu).stdout

    hn("roster", "decline", hub, first.group(1), "--reason", "Ask the Europe lead first")
    status = hn("join-status", eu).stdout
    assert "declined" in status and "reason: Ask the Europe lead first" in status
    assert hn("roster", "requests", hub).stdout.strip() == "no pending join requests"
    assert "declined" in hn("roster", "requests", hub, "--all").stdout

    second = re.search(r"join request ([0-9a-f]{16}) sent", join(hub, eu).stdout)
    assert second and second.group(1) != first.group(1)
    approved = hn("roster", "approve", hub, second.group(1)).stdout
    assert f"admitted {me['node_id']} (Radboud UMC, europe): roster v2" in approved
    assert "approved" in hn("join-status", eu).stdout
    assert me["node_id"] in hn("roster", "show", hub).stdout

    again = hn("roster", "approve", hub, second.group(1), code=1)
    assert "no longer pending" in again.stderr
    refused = join(hub, eu, code=1)
    assert "already in the roster" in refused.stderr


def test_an_unreachable_hub_leaves_the_out_of_band_line(
    homes: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub, eu = homes

    def down(url: str, **_: Any) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    monkeypatch.setattr(httpx, "post", down)
    out = join(hub, eu, code=1).stdout
    assert f"healthnet roster add HUB_HOME http://eu.test --key {info(eu)['public_key']}" in out
    assert NodeSettings.load(eu).hub_url == "http://hub.test"  # pinned all the same
    status = hn("join-status", eu, code=2)
    assert "run `healthnet join` first" in status.stderr
