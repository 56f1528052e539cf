"""Starts the call records in the tools service: the consumer, and the webhook sender if configured.
Both run as the runtime's tasks (cancelled after the drain)."""

from __future__ import annotations

from services.common.runtime import Runtime
from services.common.settings import Settings

from ..metrics import ToolsMetrics
from . import summary
from .consumer import RecordsConsumer
from .report import Reporter
from .webhook import WebhookSender


def check_settings(s: Settings) -> None:
    """Fail at start-up, not at the first report."""
    if s.report_webhook_url and not s.report_webhook_secret:
        raise ValueError("REPORT_WEBHOOK_SECRET is required when REPORT_WEBHOOK_URL is set")
    if s.report_webhook_url and not s.report_webhook_url.startswith(("https://", "http://")):
        raise ValueError("REPORT_WEBHOOK_URL must be an http(s) URL")


def start_records(rt: Runtime, metrics: ToolsMetrics) -> RecordsConsumer:
    assert rt.nc is not None and rt.pool is not None
    s = rt.settings
    reporter = Reporter(rt.pool, s, summary.make_client(s), metrics.call_reports)
    consumer = RecordsConsumer(reporter, rt.nc.jetstream(), s.records_consumer, s.report_settle_s,
                               s.report_outcome_wait_s)
    rt.tasks.spawn(consumer.run(), name="call-records")
    if s.report_webhook_url:
        sender = WebhookSender(rt.pool, s.report_webhook_url, s.report_webhook_secret,
                               max_attempts=s.report_webhook_max_attempts, backoff_s=s.report_webhook_backoff_s,
                               counter=metrics.report_webhook)
        rt.tasks.spawn(sender.run(), name="report-webhook")
    return consumer
