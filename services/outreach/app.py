"""Wiring of the outreach service: DBOS (durable workflows) + two JetStream consumers."""

from __future__ import annotations

import asyncio
import logging

from services.common.runtime import Runtime
from services.common.tasks import TaskSet
from services.common.work_hours import QuietHours

from . import analysis, engine
from .callbacks import CallbackTrigger
from .context import OutreachContext, install
from .triggers import Consumer, IncidentTrigger, ResultRouter

log = logging.getLogger(__name__)


class OutreachService:
    name = "outreach"
    needs_database = True
    runtime: Runtime  # set by serve()

    def __init__(self) -> None:
        self.consumers: list[Consumer] = []
        self.tasks = TaskSet("outreach")  # the consumers' loops
        self.ctx: OutreachContext | None = None
        self.suspended = 0  # workflows left PENDING at the last drain (they resume at the next start)

    def setup(self, rt: Runtime) -> None:
        pass

    async def start(self, rt: Runtime) -> None:
        assert rt.nc is not None and rt.pool is not None
        QuietHours.parse(rt.settings.outreach_quiet_hours)  # a malformed OUTREACH_QUIET_HOURS stops the start
        self.ctx = OutreachContext(pool=rt.pool, nc=rt.nc, js=rt.nc.jetstream(timeout=5.0), settings=rt.settings,
                                   gemini=analysis.make_client(rt.settings))
        install(self.ctx)
        engine.launch(rt.settings)
        try:
            self.consumers = [IncidentTrigger(self.ctx), ResultRouter(self.ctx), CallbackTrigger(self.ctx)]
            subs = [await consumer.subscribe() for consumer in self.consumers]
        except BaseException:
            await engine.shutdown()
            install(None)
            raise
        self.tasks = TaskSet("outreach")  # a fresh set: a drained service may be started again
        for consumer, sub in zip(self.consumers, subs, strict=True):
            self.tasks.spawn(consumer.run(sub), name=f"outreach-{consumer.durable}")

    async def drain(self, rt: Runtime) -> None:
        for consumer in self.consumers:
            consumer.stop()
        running = list(self.tasks)
        if running:  # each loop ends within a fetch (1 s) of its stop; cancelled after 5 s
            await asyncio.wait(running, timeout=5)
        await self.tasks.close()
        self.suspended = await engine.shutdown()
        install(None)
