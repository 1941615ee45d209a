"""One in-process node: its settings, app, test client and an admin and an editor token."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from node import tokens
from node.app import create_app
from node.home import init_home
from node.settings import NodeSettings
from schemas.geo import Region

from .clock import Clock


@dataclass
class Node:
    settings: NodeSettings
    app: FastAPI
    client: TestClient
    admin: dict[str, str]
    editor: dict[str, str]

    @property
    def engine(self):  # type: ignore[no-untyped-def]
        return self.app.state.runtime.engine


def make_node(
    home: Path,
    database_url: str,
    clock: Clock,
    *,
    region: Region = Region.EUROPE,
    name: str = "Radboud UMC",
    **overrides: object,
) -> Node:
    settings = init_home(
        home, name=name, region=region, url="http://127.0.0.1:8101", database_url=database_url
    )
    if overrides:
        settings = NodeSettings.load(home, **overrides)
    app = create_app(settings, clock=clock)
    headers = {}
    with Session(app.state.runtime.engine) as session:
        for role in tokens.Role:
            _, secret = tokens.create_token(session, role=role, label=f"test {role}", now=clock())
            headers[role] = {"Authorization": f"Bearer {secret}"}
        session.commit()
    client = TestClient(app, raise_server_exceptions=False)
    return Node(settings, app, client, headers[tokens.Role.ADMIN], headers[tokens.Role.EDITOR])
