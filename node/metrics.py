"""Prometheus metrics, one registry per app (several nodes can share a test process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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
        )
        self.peer_up = Gauge(
            "healthnet_peer_up",
            "1 if the last pull from the peer succeeded",
            ["peer"],
            registry=self.registry,
        )
        self.peer_failures = Gauge(
            "healthnet_peer_consecutive_failures",
            "Consecutive failed pulls from the peer",
            ["peer"],
            registry=self.registry,
        )
        self.quarantined = Gauge(
            "healthnet_quarantine_records",
            "Records held in quarantine",
            registry=self.registry,
        )
