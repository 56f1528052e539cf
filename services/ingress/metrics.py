"""Prometheus metrics of the ingress (registered on the runtime's registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class IngressMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.webhooks = Counter("ingress_webhooks_total", "Twilio webhooks handled", ["route", "outcome"],
                                registry=registry)
        self.signature_failures = Counter("ingress_signature_failures_total",
                                          "Webhooks refused (403) for a missing or wrong X-Twilio-Signature",
                                          ["route"], registry=registry)
        self.admissions = Counter("ingress_admissions_total", "Admission decisions for new calls", ["decision"],
                                  registry=registry)
        self.dial_attempts = Counter("ingress_dial_attempts_total", "Outbound DialCall commands by outcome",
                                     ["outcome"], registry=registry)
        self.recordings = Counter("ingress_recordings_total", "Call recordings started through the REST API",
                                  ["outcome"], registry=registry)
        self.free_slots = Gauge("ingress_bridge_free_slots", "Free bridge slots at the last admission decision",
                                registry=registry)
