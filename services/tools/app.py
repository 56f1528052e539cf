"""Wiring of the tools service: the nats.micro tool server, the outbox relay, and the
background KB embedding for the active provider."""

from __future__ import annotations

import asyncio
import logging

from services.common.outbox import OutboxRelay
from services.common.runtime import Runtime
from services.common.tasks import TaskSet

from .calendar import RepairCalendar
from .context import ToolContext
from .embeddings import make_embedder
from .kb import ingest
from .metrics import ToolsMetrics
from .outbox import OutboxMonitor
from .records.consumer import RecordsConsumer
from .records.wiring import check_settings, start_records
from .server import ToolServer

log = logging.getLogger(__name__)


class ToolsService:
    name = "tools"
    needs_database = True
    runtime: Runtime  # set by serve()

    def __init__(self) -> None:
        self.metrics: ToolsMetrics | None = None
        self.server: ToolServer | None = None
        self.background = TaskSet("tools")  # outbox relay and monitor, the KB embedding
        self.kb_task: asyncio.Task[None] | None = None
        self.records: RecordsConsumer | None = None

    def setup(self, rt: Runtime) -> None:
        self.metrics = ToolsMetrics(rt.registry)
        make_embedder(rt.settings)  # fail fast on a bad EMBEDDING_PROVIDER
        check_settings(rt.settings)  # ... and on a webhook without its secret

    async def start(self, rt: Runtime) -> None:
        assert rt.nc is not None and rt.pool is not None and self.metrics is not None
        embedder = make_embedder(rt.settings)
        ctx = ToolContext(pool=rt.pool, settings=rt.settings, embedder=embedder,
                          calendar=RepairCalendar(rt.settings))
        self.server = ToolServer(ctx, self.metrics, rt.settings.tools_max_in_flight)
        await self.server.start(rt.nc)
        relay = OutboxRelay(rt.pool, rt.nc, rt.registry, poll_interval_s=rt.settings.outbox_poll_interval_s,
                            role=self.name)
        monitor = OutboxMonitor(rt.pool, self.metrics, interval_s=max(rt.settings.outbox_poll_interval_s, 1.0))
        self.background.spawn(relay.run(), name="outbox-relay")
        self.background.spawn(monitor.run(), name="outbox-monitor")
        self.records = start_records(rt, self.metrics)
        if rt.settings.kb_embed_on_start:
            self.kb_task = self.background.spawn(self._embed_kb(ctx, self.metrics), name="kb-embed")

    async def _embed_kb(self, ctx: ToolContext, metrics: ToolsMetrics) -> None:
        """Embed what is missing for this provider; search falls back to full text meanwhile."""
        try:
            async with ctx.pool.acquire() as conn:
                report = await ingest(conn, ctx.embedder)
            metrics.kb_chunks_embedded.inc(report.embedded)
            log.info("knowledge base embedded", extra={"model": report.model, "embedded": report.embedded,
                                                       "unchanged": report.unchanged, "seconds": report.seconds})
        except Exception:  # noqa: BLE001 - search keeps working on full text
            log.exception("knowledge-base embedding failed")

    async def drain(self, rt: Runtime) -> None:
        if self.server:
            await self.server.stop()
        if self.records is not None:
            self.records.stop()
        # Unpublished rows stay in the outbox for the next relay (this one's or a replica's).
        await self.background.close()
