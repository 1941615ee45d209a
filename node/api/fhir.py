"""``/fhir``: a read-only FHIR R4 view of the directory (docs/FHIR.md).

Thin: parameters are checked by ``node.fhir.params``, rows come from
``node.db.fhir``, resources and Bundles are built by the pure modules. Every answer,
errors included, is ``application/fhir+json``: the routes raise ``node.fhir.errors``
leaves, and ``node.problems`` answers anything under ``/fhir`` with an OperationOutcome
(never an RFC 9457 problem), written by the same ``fhir_response`` as the answers here.
Parameters are read from the raw query string rather than declared, so that every check is
the FHIR layer's own (a 400 naming the parameter), never FastAPI's 422.

Every GET route also answers HEAD (the same status and headers, no body; HEAD routes are
left out of the OpenAPI document, which would otherwise need a second operation per path).
Any other method on any ``/fhir`` path is a 405 OperationOutcome with ``Allow: GET, HEAD``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.types import Receive, Scope, Send

from federation.provenance import KeyRing
from node.db import fhir as queries
from node.db.session import Session
from node.deps import KeysDep, RuntimeDep, SessionDep
from node.fhir import bundles, params, resources
from node.fhir.errors import FhirDeleted, FhirMethodNotAllowed, FhirNotFound, FhirNotServed
from node.fhir.params import ID_PATTERN
from node.problems import fhir_response
from node.runtime import Runtime
from schemas.instants import format_utc

TYPES = ("Organization", "Location")
_ID = re.compile(ID_PATTERN)  # fullmatch: "$" would accept a trailing newline
ALLOW = ("GET", "HEAD")
_Endpoint = Callable[..., Response]
_OUTCOME = {"description": "An OperationOutcome", "content": {"application/fhir+json": {}}}
_FHIR: dict[int | str, dict[str, Any]] = {
    200: {"description": "A FHIR resource or Bundle", "content": {"application/fhir+json": {}}},
    **{code: _OUTCOME for code in (400, 404, 406, 410)},
}

router = APIRouter(prefix="/fhir", tags=["fhir"], responses=_FHIR)


def _get(path: str, **options: Any) -> Callable[[_Endpoint], _Endpoint]:
    """A GET route and its HEAD twin (not in the OpenAPI document)."""
    get = router.get(path, **options)
    head = router.head(path, include_in_schema=False)

    def register(endpoint: _Endpoint) -> _Endpoint:
        return head(get(endpoint))

    return register


Items = Sequence[tuple[str, str]]


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def _respond(request: Request, build: Callable[[Items, bool], Answer]) -> Response:
    """Check ``_format``, build the answer and write it. A refusal is raised, for
    ``node.problems`` to answer as an OperationOutcome."""
    items = request.query_params.multi_items()
    pretty = params.check_format(items)
    answer = build(items, params.lenient(request.headers.get("prefer", "")))
    return fhir_response(request, answer.status, answer.body, answer.headers, pretty=pretty)


def _base(runtime: Runtime) -> str:
    """Absolute URLs use the node's public URL, as its envelope links do, so links stay
    right behind a proxy that rewrites the Host header."""
    return runtime.settings.url.rstrip("/") + "/fhir"


def _resource_type(rtype: str) -> str:
    if rtype not in TYPES:
        raise FhirNotServed(f"resource type {rtype!r} is not served (only {', '.join(TYPES)})")
    return rtype


@_get("/metadata")
def metadata(request: Request, runtime: RuntimeDep) -> Response:
    """The CapabilityStatement: what this server supports."""

    def build(items: Items, lenient: bool) -> Answer:
        params.plain(items, lenient=lenient)
        statement = resources.capability_statement(
            base=_base(runtime),
            node_name=runtime.settings.name,
            software_version=request.app.version,
            date=format_utc(runtime.clock()),
        )
        return Answer(200, statement)

    return _respond(request, build)


@_get("/_history")
def system_history(
    request: Request, session: SessionDep, runtime: RuntimeDep, keys: KeysDep
) -> Response:
    """Changes to Organizations and Locations, in the order this node received them."""
    return _respond(
        request, lambda items, lenient: _history(session, runtime, keys, None, items, lenient)
    )


@_get("/{rtype}/_history")
def type_history(
    rtype: str, request: Request, session: SessionDep, runtime: RuntimeDep, keys: KeysDep
) -> Response:
    """Changes to one resource type, in the order this node received them."""

    def build(items: Items, lenient: bool) -> Answer:
        return _history(session, runtime, keys, _resource_type(rtype), items, lenient)

    return _respond(request, build)


@_get("/{rtype}/{rid}")
def read(
    rtype: str, rid: str, request: Request, session: SessionDep, runtime: RuntimeDep, keys: KeysDep
) -> Response:
    """One Organization or Location: 404 if unknown, 410 if its record was deleted."""

    def build(items: Items, lenient: bool) -> Answer:
        params.plain(items, lenient=lenient)
        _resource_type(rtype)
        return _read(session, runtime, keys, rtype, rid)

    return _respond(request, build)


@_get("/{rtype}")
def search(
    rtype: str, request: Request, session: SessionDep, runtime: RuntimeDep, keys: KeysDep
) -> Response:
    """A searchset Bundle, paged by an opaque cursor in the ``next`` link."""

    def build(items: Items, lenient: bool) -> Answer:
        return _search(session, runtime, keys, _resource_type(rtype), items, lenient)

    return _respond(request, build)


@router.api_route("", methods=["GET", "HEAD"], include_in_schema=False)
@router.api_route("/{rest:path}", methods=["GET", "HEAD"], include_in_schema=False)
def unknown(request: Request) -> Response:
    def build(items: Items, lenient: bool) -> Answer:
        raise FhirNotServed(f"no FHIR interaction at {request.url.path}")

    return _respond(request, build)


def other_method(request: Request) -> Response:
    """Every method but GET and HEAD, on every FHIR path: writes (a transaction is a POST
    to ``/fhir``), OPTIONS, and methods no one has registered."""

    def build(items: Items, lenient: bool) -> Answer:
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            raise FhirMethodNotAllowed("this FHIR server is read-only", allowed=ALLOW)
        raise FhirMethodNotAllowed(
            f"method {request.method} is not supported (only {', '.join(ALLOW)})", allowed=ALLOW
        )

    return _respond(request, build)


class _AnyMethod:
    """``other_method`` as an ASGI app. Starlette routes an ASGI app registered without a
    method list for every method, where a function endpoint (and every FastAPI route)
    gets only the methods it names, leaving the rest to the global 405 problem handler."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await other_method(Request(scope, receive))(scope, receive, send)


# After every GET route: these take only what no route above took. (FastAPI types the
# endpoint as a request handler; Starlette's Route also takes an ASGI app.)
_any_method: Any = _AnyMethod()
router.add_route("/fhir", _any_method, include_in_schema=False)
router.add_route("/fhir/{rest:path}", _any_method, include_in_schema=False)


# --------------------------------------------------------------------------- interactions


def _read(session: Session, runtime: Runtime, keys: KeyRing, rtype: str, rid: str) -> Answer:
    stored = queries.current(session, rid) if _ID.fullmatch(rid) else None
    if stored is None or (rtype == "Organization" and stored.kind != "member"):
        raise FhirNotFound(f"{rtype}/{rid} is not known here")
    if stored.deleted:
        raise FhirDeleted(f"{rtype}/{rid} was deleted (version {stored.version})")
    body = stored.body_dict()
    if body is None:  # a current version without its body: nothing to show
        raise FhirNotFound(f"{rtype}/{rid} is not known here")
    version = resources.version_of(stored, keys, runtime.settings.url)
    found = (
        resources.organization(body, version)
        if rtype == "Organization"
        else resources.location(stored.kind, body, version)
    )
    if found is None:
        # Consistent with the history: a later version without a site deleted the Location.
        if version.version > 1:
            raise FhirDeleted(f"{rtype}/{rid} no longer has a location")
        raise FhirNotFound(f"{rtype}/{rid} has no location")
    headers = {"ETag": f'W/"{version.version}"'}
    try:
        modified = datetime.fromisoformat(version.updated_at)
        headers["Last-Modified"] = format_datetime(modified, usegmt=True)
    except ValueError:
        pass  # issued_at is informational; a malformed one only costs the header
    return Answer(200, found, headers)


def _search(
    session: Session, runtime: Runtime, keys: KeyRing, rtype: str, items: Items, lenient: bool
) -> Answer:
    s = params.search(rtype, items, lenient=lenient, max_count=runtime.settings.max_page_size)
    found = queries.search(session, s, after=bundles.search_after(s))
    url = runtime.settings.url
    matches: list[dict[str, Any]] = []
    for _, stored in found.rows:
        body = stored.body_dict()
        if body is None:
            continue
        version = resources.version_of(stored, keys, url)
        resource = (
            resources.organization(body, version)
            if rtype == "Organization"
            else resources.location(stored.kind, body, version)
        )
        if resource is not None:
            matches.append(resource)
    next_cursor = None
    if found.more and found.rows:
        next_cursor = bundles.search_cursor(s, found.rows[-1][0])
    bundle = bundles.searchset(
        base=_base(runtime),
        search=s,
        found=matches,
        total=found.total,
        next_cursor=next_cursor,
        now=runtime.clock(),
    )
    return Answer(200, bundle)


def _history(
    session: Session,
    runtime: Runtime,
    keys: KeyRing,
    rtype: str | None,
    items: Items,
    lenient: bool,
) -> Answer:
    h = params.history(rtype, items, lenient=lenient, max_count=runtime.settings.max_page_size)
    path = f"{rtype}/_history" if rtype else "_history"
    at = bundles.history_start(h, path, runtime.clock())
    kinds = ("member",) if h.types == ("Organization",) else queries.KINDS
    start = (at.received_at, at.origin, at.seq) if at.started else None
    url, base = runtime.settings.url, _base(runtime)
    entries: list[dict[str, Any]] = []
    last, more = at, False
    rows = queries.history(session, kinds=kinds, since=h.since, after=start, batch=h.count + 1)
    for stored in rows if h.count > 0 else ():
        change = bundles.Change(
            stored.kind, stored.deleted, stored.body_dict(), resources.version_of(stored, keys, url)
        )
        resumed = (stored.received_at, stored.origin, stored.seq) == start
        for part, part_type, resource in bundles.expand(change, h.types):
            if resumed and part <= at.part:
                continue  # served on the previous page
            if len(entries) == h.count:
                more = True
                break
            entries.append(bundles.history_entry(base, part_type, resource, change.version))
            last = bundles.Position(
                at.watermark, stored.received_at, stored.origin, stored.seq, part
            )
        if more:
            break
    next_cursor = bundles.history_cursor(h, path, last) if more else None
    bundle = bundles.history(
        base=base, path=path, history=h, at=at, entries=entries, next_cursor=next_cursor
    )
    return Answer(200, bundle)
