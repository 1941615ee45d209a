"""Nudges: a node that wrote records tells its peers, and a peer told so pulls at once.

A nudge is only a hint and carries no data (docs/PROTOCOL.md): the pull that follows
verifies everything as usual, and the periodic pull catches any nudge that was lost.
"""

from __future__ import annotations

import asyncio
import logging

from federation.errors import PeerError
from node.settings import NodeSettings
from node.sync.client import PeerClient
from node.sync.puller import Puller
from node.sync.trustbook import TrustBook
from schemas.roster import NodeStatus
from schemas.sync import Nudge

logger = logging.getLogger(__name__)


class Nudger:
    def __init__(
        self, *, settings: NodeSettings, trust: TrustBook, puller: Puller, client: PeerClient
    ) -> None:
        self._settings = settings
        self._trust = trust
        self._puller = puller
        self._client = client

    async def nudge_peers(self, seq: int) -> None:
        """Tell every peer that this node has new records up to ``seq``; best effort."""
        if not self._settings.nudge:
            return
        me = self._settings.node_id
        message = Nudge(node=me, origin=me, seq=seq)
        peers = self._trust.peers()
        results = await asyncio.gather(
            *(self._client.nudge(p.node_id, p.url, message) for p in peers),
            return_exceptions=True,
        )
        for peer, outcome in zip(peers, results, strict=True):
            if isinstance(outcome, PeerError):
                logger.info("nudge to %s failed: %s", peer.node_id, outcome.reason)

    def nudged(self, nudge: Nudge) -> bool:
        """A peer says it has news: pull from it now, in the background. Refused (False)
        for this node itself, for a node the roster does not list, and for one that is
        suspended or revoked."""
        if nudge.node == self._settings.node_id or not self._trust.knows(nudge.node):
            return False
        trust = self._trust.current
        peer = trust.nodes[nudge.node] if trust else None
        if peer is None or peer.status is not NodeStatus.ACTIVE:
            return False
        self._puller.pull_soon(peer, nudge)
        return True
