"""Prometheus metrics of the notifier."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class NotifierMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.clients = Gauge("notifier_sse_clients", "Connected SSE clients", registry=registry)
        self.dropped = Counter("notifier_sse_dropped_total", "SSE clients closed by the server",
                               ["reason"], registry=registry)
        self.events = Counter("notifier_events_total", "Stream messages applied", ["outcome"],
                              registry=registry)
        self.stream_seq = Gauge("notifier_stream_seq", "Last stream sequence applied", registry=registry)
        self.replayed = Counter("notifier_replayed_events_total", "Events sent from stream replay",
                                registry=registry)
        self.resets = Counter("notifier_resets_total", "Resumes answered with reset + snapshot",
                              ["reason"], registry=registry)
        self.rejected = Counter("notifier_sse_rejected_total", "SSE connections refused", ["reason"],
                                registry=registry)
