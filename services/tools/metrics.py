"""Prometheus metrics of the tools service."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class ToolsMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = registry if registry is not None else CollectorRegistry()
        self.requests = Counter("fixline_tool_requests_total", "Tool requests", ["tool"], registry=registry)
        self.errors = Counter("fixline_tool_errors_total", "Tool requests answered with a ToolError",
                              ["tool", "code"], registry=registry)
        self.latency = Histogram("fixline_tool_latency_seconds", "Tool handling time", ["tool"],
                                 buckets=LATENCY_BUCKETS, registry=registry)
        # The shared relay (services.common.outbox) counts outbox_published_total itself.
        self.outbox_unpublished = Gauge("fixline_outbox_unpublished_rows", "Outbox rows waiting for the relay",
                                        registry=registry)
        self.outbox_lag = Gauge("fixline_outbox_lag_seconds", "Age of the oldest unpublished outbox row",
                                registry=registry)
        self.kb_chunks_embedded = Counter("fixline_kb_chunks_embedded_total", "KB chunks (re-)embedded",
                                          registry=registry)
        self.call_reports = Counter("fixline_call_reports_total", "End-of-call reports stored",
                                    ["outcome", "source"], registry=registry)
        self.report_webhook = Counter("fixline_report_webhook_attempts_total", "Report webhook POSTs",
                                      ["result"], registry=registry)   # delivered | failed
