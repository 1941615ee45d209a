"""FastAPI dependencies, as ``Annotated`` aliases so routes stay short."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from federation.provenance import KeyRing
from node import audit, tokens
from node.db.engine import writer
from node.db.session import Session
from node.db.tokens import ApiToken
from node.errors import Forbidden, RateLimited, Unauthorized
from node.runtime import Runtime
from node.sync import Sync
from node.sync.nudges import Nudger
from node.sync.status import federation_status
from node.sync.trustbook import TrustBook


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_sync(request: Request) -> Sync:
    sync: Sync = request.app.state.sync
    return sync


def get_trust(request: Request) -> TrustBook:
    book = get_sync(request).trust
    book.fresh()  # another process may have stored a newer roster: use it at once
    return book


def get_nudger(request: Request) -> Nudger:
    return get_sync(request).nudger


def get_peer_http(request: Request) -> httpx.AsyncClient:
    """The client this node calls other nodes with (tests pass one over ASGITransport)."""
    http: httpx.AsyncClient = request.app.state.peer_http
    return http


TrustDep = Annotated[TrustBook, Depends(get_trust)]
PeerHttpDep = Annotated[httpx.AsyncClient, Depends(get_peer_http)]
NudgerDep = Annotated[Nudger, Depends(get_nudger)]

# What a write route needs of sync: "tell the peers there is news up to seq", run after
# the response. A plain callable, so the API need not know the sync package's types.
Announce = Callable[[int], Awaitable[None]]


def get_announce(request: Request) -> Announce:
    return get_nudger(request).nudge_peers


AnnounceDep = Annotated[Announce, Depends(get_announce)]


def get_keys(runtime: RuntimeDep, trust: TrustDep) -> KeyRing:
    """The keys stored signatures are re-checked against on read: this node's own and the
    roster's, as this process trusts it now. The FHIR view and the web pages both take
    this one ring, so they report the same status and standing for a record."""
    key = runtime.key
    return KeyRing(own=(runtime.settings.node_id, key.key_id, key.public_b64), trust=trust.current)


KeysDep = Annotated[KeyRing, Depends(get_keys)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    with Session(runtime.engine) as session:
        yield session


def get_write_session(runtime: RuntimeDep) -> Iterator[Session]:
    with Session(writer(runtime.engine), expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
WriteSessionDep = Annotated[Session, Depends(get_write_session)]


def get_status(
    request: Request, session: SessionDep, runtime: RuntimeDep, trust: TrustDep
) -> dict[str, Any]:
    """The operator's view of sync (node/sync/status.py), as the API and the node page both
    show it: through this dependency, neither imports the sync package."""
    scheduling = getattr(request.app.state, "scheduling", None)
    return federation_status(
        session,
        me=runtime.settings.node_id,
        trust=trust,
        scheduler=scheduling.describe() if scheduling is not None else None,
    )


StatusDep = Annotated[dict[str, Any], Depends(get_status)]

_bearer = HTTPBearer(auto_error=False, description="A token from `healthnet token create`")


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def current_token(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiToken:
    """The caller's token. Failed checks are rate-limited per client address, and a client
    over its limit is refused before its token is even looked at."""
    client = _client(request)
    now = runtime.rate_clock()
    runtime.auth_limiter.peek(client, now=now)
    try:
        if credentials is None:
            raise Unauthorized("a bearer token is required")
        with Session(runtime.engine) as session:
            return tokens.authenticate(session, presented=credentials.credentials)
    except Unauthorized as exc:
        failed_token_check(
            runtime,
            client=client,
            now=now,
            action=f"{request.method} {request.url.path}",
            detail=f"{exc} from {client} on {request.method} {request.url.path}",
        )
        raise


def failed_token_check(
    runtime: Runtime, *, client: str, now: float, action: str, detail: str
) -> None:
    """Count a failed token check against the client's address and audit it (in its own
    transaction: the request's is rolled back). Shared by the API and the console's
    sign-in, so guessing through either spends the same allowance."""
    try:
        runtime.auth_limiter.hit(client, now=now)
    except RateLimited:
        pass  # this failure is answered as 401; the next attempt gets 429
    with Session(writer(runtime.engine)) as session:
        audit.record_action(
            session,
            now=runtime.clock(),
            token_id=None,
            action=action[:40],
            outcome="unauthorized",
            detail=detail,
        )
        session.commit()


TokenDep = Annotated[ApiToken, Depends(current_token)]


def editor(token: TokenDep, runtime: RuntimeDep) -> ApiToken:
    runtime.write_limiter.hit(token.id, now=runtime.rate_clock())
    return token


def admin(token: TokenDep) -> ApiToken:
    if token.role != tokens.Role.ADMIN:
        raise Forbidden("this needs an admin token")
    return token


EditorDep = Annotated[ApiToken, Depends(editor)]
AdminDep = Annotated[ApiToken, Depends(admin)]
