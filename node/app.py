"""The application factory. Nothing is built at import time."""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from federation.keys import SigningKey
from node import roster
from node.api import admin, calendar, events, federation, joins, members, meta, network, nodes
from node.api import fhir as fhir_api
from node.api import schemas as published_schemas
from node.db.session import Engine, Session, writer
from node.db.setup import open_database
from node.errors import ConfigError
from node.home import load_key
from node.limits import BodyLimit
from node.metrics import Metrics
from node.problem_docs import document
from node.problems import install
from node.runtime import Runtime, utc_now
from node.settings import NodeSettings
from node.sync import build as build_sync
from node.sync import peer_http as sync_http
from node.sync.leader import Scheduling
from node.web import apidocs, pages, world
from node.web.compression import FederationGzip
from node.web.console import admin as console_admin
from node.web.console import imports as console_imports
from node.web.console import joining as console_joining
from node.web.console import network as console_network
from node.web.console import records, signin
from node.web.headers import SecurityHeaders


def create_app(
    settings: NodeSettings,
    *,
    engine: Engine | None = None,
    key: SigningKey | None = None,
    clock: Callable[[], datetime] = utc_now,
    http: httpx.AsyncClient | None = None,
    schedule: bool = True,
) -> FastAPI:
    """Build a node. Tests pass their own engine, key, clock and peer HTTP client (for
    example one over ``httpx.ASGITransport``); the CLI passes none of them.

    ``schedule=False`` leaves the periodic pull off; tests then call
    ``app.state.sync.puller.sync_all()`` themselves instead of waiting for a timer.
    """
    engine = open_database(settings.db_url, origin=settings.node_id, engine=engine)
    key = key or load_key(settings)
    with Session(writer(engine)) as session:
        roster.ensure_roster(session, settings=settings, key=key, now=clock())
        session.commit()
    runtime = Runtime(settings=settings, engine=engine, key=key, clock=clock)
    metrics = Metrics()
    own_client = http is None
    peer_http = http or sync_http(settings, timeout=httpx.Timeout(10.0, connect=3.0))
    sync = build_sync(
        engine=engine,
        settings=settings,
        clock=clock,
        monotonic=runtime.monotonic,
        http=peer_http,
        on_page=lambda origin, r: metrics.ingested.labels(origin=origin).inc(r.applied),
        on_reject=lambda reason: metrics.rejected.labels(reason=reason).inc(),
    )

    scheduling = Scheduling(
        sync.leader,
        pull=functools.partial(sync.puller.sync_all, wait=settings.sync_interval_seconds),
        interval=settings.sync_interval_seconds,
        jitter=settings.sync_jitter_seconds,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Only the scheduler lives here, and the closing of the peer client this app made:
        # ASGITransport does not run a lifespan, so in-process tests drive ``sync`` directly.
        # Every process of the node competes for the scheduler lock; the one holding it
        # runs the periodic pull (node.sync.leader).
        started = schedule and sync.trust.current is not None
        if started:
            scheduling.start()
        try:
            yield
        finally:
            if started:
                await scheduling.stop()
            sync.puller.close()
            if own_client:
                await peer_http.aclose()

    app = FastAPI(
        title=f"healthnet: {settings.name}",
        summary="A node of the Health Social Media Network's federated directory",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by node.web.apidocs from shipped assets, not a CDN
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.sync = sync
    app.state.scheduling = scheduling  # who runs the scheduler, for the status views
    app.state.metrics = metrics
    app.state.peer_http = peer_http  # the console's calls to the hub go the peers' way
    install(app)
    document(app)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        upload_path=console_imports.UPLOAD_PATH,  # the console's file upload alone
        max_upload_bytes=settings.max_upload_bytes,
    )
    app.add_middleware(FederationGzip)
    app.add_middleware(SecurityHeaders)
    for router in (
        meta.router,
        calendar.router,  # /events.ics etc., ahead of the /events and /members routers
        members.public,
        events.public,
        members.admin,
        events.admin,
        admin.router,
        federation.router,
        federation.metrics_router,
        joins.public,
        joins.admin,
        nodes.router,
        published_schemas.router,
        fhir_api.router,
    ):
        app.include_router(router)
    # Server-rendered pages (no JavaScript needed) and the files they use, shipped with
    # the package: nothing is fetched from the internet at run time.
    app.include_router(pages.router)
    # The leaders' console (/admin pages), beside the JSON admin API under /admin/*s.
    app.include_router(signin.router)
    app.include_router(console_admin.router)
    app.include_router(console_imports.router)
    app.include_router(console_network.router)
    app.include_router(console_joining.router)
    app.include_router(records.records_router("member"))
    app.include_router(records.records_router("event"))
    app.include_router(world.router)  # /world and /nearest
    app.include_router(network.router)  # GET /network, which /world polls
    apidocs.mount(app)  # /docs, /redoc and /static/apidocs, ahead of /static
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    return app


# ``healthnet serve --workers N`` hands uvicorn an import string, and each worker process
# builds its own app by calling ``app_from_env``; ``serve`` names the home here. It is no
# setting (NodeSettings has no such field, and the environment may never choose a node's
# home: settings.FIXED); only this factory, which ``serve`` alone points uvicorn at, reads it.
SERVE_HOME_ENV = "HEALTHNET_SERVE_HOME"


def app_from_env() -> FastAPI:
    """The app of one worker of ``serve --workers N`` (uvicorn's ``factory=True``)."""
    home = os.environ.get(SERVE_HOME_ENV)
    if not home:
        raise ConfigError(f"{SERVE_HOME_ENV} is not set: start workers with `healthnet serve`")
    app = create_app(NodeSettings.load(Path(home)))
    gc.freeze()  # start-up objects never die: keep the collector from re-scanning them
    return app
