"""The application factory. Nothing is built at import time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI
from sqlalchemy import Engine

from federation.keys import SigningKey
from node.api import admin, events, members, meta
from node.db.setup import open_database
from node.home import load_key
from node.problems import BodyLimit, install
from node.runtime import Runtime, utc_now
from node.settings import NodeSettings


def create_app(
    settings: NodeSettings,
    *,
    engine: Engine | None = None,
    key: SigningKey | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> FastAPI:
    """Build a node. Tests pass their own engine, key and clock; the CLI passes none."""
    engine = open_database(settings.db_url, origin=settings.node_id, engine=engine)
    key = key or load_key(settings)

    app = FastAPI(
        title=f"healthnet: {settings.name}",
        summary="A node of the Health Social Media Network's federated directory",
        version="0.1.0",
    )
    app.state.runtime = Runtime(settings=settings, engine=engine, key=key, clock=clock)
    install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    for router in (
        meta.router,
        members.public,
        events.public,
        members.admin,
        events.admin,
        admin.router,
    ):
        app.include_router(router)
    return app
