"""The roster this process trusts, as a typed dependency of the puller, the nudge
endpoint, the status views and the pages.

The roster lives in the database (it is a record in the hub's log), and other processes
change it: another worker, ``healthnet sync``, the hub operator's ``roster add``.
So the book is reloaded at the start of every round, after any page that changed it, when
a nudge names a node it does not know, and whenever a request finds a newer version
stored (``fresh``, asked by every request that depends on the book).
"""

from __future__ import annotations

from collections.abc import Callable

from federation.trust import Trust
from node import roster
from node.db.session import Engine, Session
from node.settings import NodeSettings
from schemas.roster import NodeStatus, RosterNode

RELOAD_AT_MOST_EVERY = 1.0  # seconds, for reloads a peer's nudge can cause


class TrustBook:
    def __init__(
        self, engine: Engine, settings: NodeSettings, *, monotonic: Callable[[], float]
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._monotonic = monotonic
        self._last_asked = float("-inf")
        self.current: Trust | None = None
        self.reload()

    def reload(self) -> Trust | None:
        with Session(self._engine) as session:
            self.current = roster.load_trust(session, self._settings)
        return self.current

    def fresh(self) -> Trust | None:
        """The roster as the database holds it now: reloaded when another process (a
        worker, ``healthnet sync``, the hub's ``roster add``) stored a newer version, so
        what this process trusts and shows never lags behind what it already holds."""
        with Session(self._engine) as session:
            held = roster.held_version(session, self._settings)
        if held > self.version:
            self.reload()
        return self.current

    def adopt(self, trust: Trust) -> None:
        """Trust a roster accepted at bootstrap, before it is stored (the hub's log that
        carries it is verified against it)."""
        self.current = trust

    def knows(self, node_id: str) -> bool:
        """Whether ``node_id`` is in the roster, re-reading it (at most once a second, so
        a flood of nudges costs no more) when it is not: perhaps admitted since."""
        if self.current is not None and node_id in self.current.nodes:
            return True
        now = self._monotonic()
        if now - self._last_asked > RELOAD_AT_MOST_EVERY:
            self._last_asked = now
            self.reload()
        return self.current is not None and node_id in self.current.nodes

    @property
    def version(self) -> int:
        return self.current.version if self.current else 0

    def peers(self) -> list[RosterNode]:
        """The active nodes of the roster other than this one: whom to pull from and nudge."""
        trust = self.current
        if trust is None:
            return []
        me = self._settings.node_id
        return [
            n for n in trust.nodes.values() if n.node_id != me and n.status is NodeStatus.ACTIVE
        ]
