"""The application as the benches drive it: every import of node, federation and schemas
that the benches need to set up homes, import data, sign and verify, in one place.

The application is refactored while the benches stay; when a name moves, it is repointed
here and nowhere else. The profilers (nodebench.profile, syncbench.stages and
syncbench.hotspots) are the exception by design: they wrap or call internals by name to
time them, look them up when they run, and skip what no longer exists.

Only what bench/node.py imported before is imported at load time (so the heap, and the
garbage collector's work, during an in-process import stay what they were); the web
application is imported when a bench first asks for it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlmodel import Session

from federation.canonical import b64url_decode, canonical_bytes
from federation.keys import public_key
from node import tokens
from node.db.engine import writer
from node.db.setup import open_database
from node.home import init_home, load_key
from node.importer import record_id, run_import
from node.runtime import utc_now
from node.settings import NodeSettings
from node.sheets import MAX_ROWS
from schemas.geo import Region, check_country, region_of_country
from schemas.member import MemberBody
from schemas.sync import Nudge

__all__ = [
    "MAX_ROWS",
    "MemberBody",
    "NodeSettings",
    "Nudge",
    "Region",
    "b64url_decode",
    "canonical_bytes",
    "check_country",
    "close_app",
    "create_app",
    "editor_token",
    "import_csv",
    "init_home",
    "load_key",
    "open_home",
    "peer_http",
    "public_key",
    "record_id",
    "region_of_country",
    "utc_now",
]


def create_app(settings: Any, **kwargs: Any) -> Any:
    """``node.app.create_app``, imported on first use: the web application pulls in some
    500 modules that a bench importing data in process should not carry in its heap."""
    from node.app import create_app as make

    return make(settings, **kwargs)


def peer_http(settings: Any, **kwargs: Any) -> Any:
    """``node.sync.peer_http``: the client a node calls its peers with (its headers are
    part of what a sync round puts on the wire)."""
    from node.sync import peer_http as make

    return make(settings, **kwargs)


def close_app(app: Any) -> None:
    """Release what ``create_app`` opened in this process: the puller's verify pool and
    the database engine."""
    app.state.sync.puller.close()
    app.state.runtime.engine.dispose()


def _no_progress(n: int) -> None:
    return None


def import_csv(
    engine: Any,
    settings: Any,
    key: Any,
    path: Path,
    kind: str,
    progress: Callable[[int], None] = _no_progress,
) -> Any:
    """``node.importer.run_import`` as ``healthnet import`` calls it, for the home's own
    origin and region; returns its report."""
    return run_import(
        engine,
        path=path,
        kind=kind,
        key=key,
        origin=settings.node_id,
        region=settings.region.value,
        clock=utc_now,
        progress=progress,
    )


def open_home(settings: Any) -> tuple[Any, Any]:
    """(engine, signing key) of an initialised home, as the CLI opens them."""
    return open_database(settings.db_url, origin=settings.node_id), load_key(settings)


def editor_token(engine: Any) -> str:
    """A new editor token in the home's database (what ``healthnet token create`` makes),
    for the benches' signed writes over HTTP."""
    with Session(writer(engine), expire_on_commit=False) as session:
        _, token = tokens.create_token(
            session, role=tokens.Role.EDITOR, label="bench", now=utc_now()
        )
        session.commit()
    return token
