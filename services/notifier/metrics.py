"""Prometheus metrics of the notifier."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class NotifierMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.clients = Gauge("notifier_sse_clients", "Connected SSE clients", registry=registry)
        self.dropped = Counter("notifier_sse_dropped_total", "SSE clients closed by the server",
                               ["reason"], registry=registry)
        self.events = Counter("notifier_events_total", "Stream messages read (applied or rejected)",
                              ["outcome"], registry=registry)
        self.events_rejected = Counter(
            "notifier_events_rejected_total",
            "Stream messages dropped: not a valid event, or not on its own property's subject", ["reason"],
            registry=registry)
        self.heartbeats_rejected = Counter("notifier_heartbeats_rejected_total",
                                           "Service heartbeats that did not decode", registry=registry)
        self.http_refused = Counter("notifier_http_refused_total", "HTTP requests refused before their handler",
                                    ["reason"], registry=registry)
        self.stream_seq = Gauge("notifier_stream_seq", "Last stream sequence applied", registry=registry)
        self.replayed = Counter("notifier_replayed_events_total", "Events sent from stream replay",
                                registry=registry)
        self.resets = Counter("notifier_resets_total", "Resumes answered with reset + snapshot",
                              ["reason"], registry=registry)
        self.rejected = Counter("notifier_sse_rejected_total", "SSE connections refused", ["reason"],
                                registry=registry)
