"""Prometheus metrics, one registry per app (several nodes can share a test process).

With ``serve --workers N`` each worker is its own process with its own counters, and a
scrape reaches whichever worker the kernel hands the connection to. So ``serve`` then
points prometheus_client's multiprocess mode at a directory in the node's home
(``PROMETHEUS_MULTIPROC_DIR``, set before the workers start): every worker writes its
values to files there, and a scrape of any worker adds up the counters of all of them,
including workers that have since been restarted. The gauges are recomputed from the
database at each scrape by the worker that answers, so the newest value is the node's
(``mostrecent``).
"""

from __future__ import annotations

import os
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest, multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_GAUGES: Final = "mostrecent"  # only read in multiprocess mode


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # Read once: prometheus_client chose its value store (memory or files) when it was
        # first imported, from the same variable.
        self.shared = bool(os.environ.get(MULTIPROC_ENV))
        self.ingested = Counter(
            "healthnet_records_ingested_total",
            "Records received from peers and stored",
            ["origin"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "healthnet_records_rejected_total",
            "Records received from peers and refused, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.lag = Gauge(
            "healthnet_sync_lag_records",
            "Records a peer holds of an origin that this node does not (max over peers)",
            ["origin"],
            registry=self.registry,
            multiprocess_mode=_GAUGES,
        )
        self.peer_up = Gauge(
            "healthnet_peer_up",
            "1 if the last pull from the peer succeeded",
            ["peer"],
            registry=self.registry,
            multiprocess_mode=_GAUGES,
        )
        self.peer_failures = Gauge(
            "healthnet_peer_consecutive_failures",
            "Consecutive failed pulls from the peer",
            ["peer"],
            registry=self.registry,
            multiprocess_mode=_GAUGES,
        )
        self.alarms = Gauge(
            "healthnet_equivocation_alarms",
            "Split views of the origin caught (node.alarms): proven or quarantined",
            ["origin"],
            registry=self.registry,
            multiprocess_mode=_GAUGES,
        )
        self.quarantined = Gauge(
            "healthnet_quarantine_records",
            "Records held in quarantine",
            registry=self.registry,
            multiprocess_mode=_GAUGES,
        )

    def exposition(self) -> bytes:
        """The text a scrape gets: this process's registry, or with several workers the
        sum over every worker's files."""
        if not self.shared:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return generate_latest(merged)
