"""The sync service of a node, as its own part: who is trusted (``TrustBook``), what is
known of each peer (``PeerBook``), the pulls (``Puller``), nudges (``Nudger``), the
ingest of a page (``ingest``) and the HTTP client for peers (``client``).

``build`` wires them for one node, given its engine, settings, clock and HTTP client;
``create_app`` and ``healthnet sync`` both call it, so the CLI needs no app. The locks
(``locks``) and the scheduler's election (``leader``) keep several processes of one node
from pulling the same peer at once or running two schedulers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx

from node.db.session import Engine
from node.settings import NodeSettings
from node.sync.client import PeerClient
from node.sync.leader import Leader
from node.sync.locks import Locks, locks_for
from node.sync.nudges import Nudger
from node.sync.peerbook import PeerBook
from node.sync.puller import PageHook, Puller, RejectHook
from node.sync.trustbook import TrustBook

USER_AGENT = "healthnet/1 (+{url}; node {node_id})"


def peer_http(settings: NodeSettings, *, timeout: httpx.Timeout) -> httpx.AsyncClient:
    """The client a node calls its peers with. Its User-Agent names the calling node and
    its URL, as HTTP crawlers do (RFC 9110 10.1.5): a peer's operator reading an access
    log sees who pulled, and the multi-process tests' hostile origin can answer each of
    its victims differently, as a real one could by address."""
    agent = USER_AGENT.format(url=settings.url, node_id=settings.node_id)
    http = httpx.AsyncClient(timeout=timeout, headers={"User-Agent": agent})
    # HTTP/1.1 connections persist unless a side says otherwise (RFC 9112, 9.3): httpx's
    # default "Connection: keep-alive" is 24 bytes of every pull's requests for nothing.
    del http.headers["Connection"]
    return http


@dataclass(frozen=True)
class Sync:
    trust: TrustBook
    peers: PeerBook
    puller: Puller
    nudger: Nudger
    leader: Leader


def build(
    *,
    engine: Engine,
    settings: NodeSettings,
    clock: Callable[[], datetime],
    monotonic: Callable[[], float],
    http: httpx.AsyncClient,
    on_page: PageHook = lambda origin, result: None,
    on_reject: RejectHook = lambda reason: None,
    locks: Locks | None = None,
) -> Sync:
    locks = locks or locks_for(engine, settings.home)
    trust = TrustBook(engine, settings, monotonic=monotonic)
    peers = PeerBook(engine, clock=clock)
    puller = Puller(
        engine=engine,
        settings=settings,
        clock=clock,
        trust=trust,
        peers=peers,
        http=http,
        on_page=on_page,
        on_reject=on_reject,
        locks=locks,
    )
    client = PeerClient(http, deadline=settings.sync_request_deadline_seconds)
    nudger = Nudger(settings=settings, trust=trust, puller=puller, client=client)
    return Sync(trust, peers, puller, nudger, Leader(locks))
