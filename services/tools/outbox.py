"""Events go through the shared transactional outbox (services.common.outbox); this module
adds what the tools service reports about it: how many rows wait and for how long."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from services.common.outbox import add as enqueue

from .metrics import ToolsMetrics

__all__ = ["OutboxMonitor", "enqueue"]
log = logging.getLogger(__name__)


class OutboxMonitor:
    """Samples the unpublished backlog and the age of its oldest row (the relay's lag)."""

    def __init__(self, pool: asyncpg.Pool, metrics: ToolsMetrics, interval_s: float = 5.0) -> None:
        self.pool, self.metrics, self.interval_s = pool, metrics, interval_s

    async def sample(self) -> tuple[int, float]:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT count(*) AS backlog, coalesce(extract(epoch FROM now() - min(created_at)), 0) AS lag"
                " FROM outbox WHERE published_at IS NULL")
        backlog, lag = int(row["backlog"]), float(row["lag"])
        self.metrics.outbox_unpublished.set(backlog)
        self.metrics.outbox_lag.set(lag)
        return backlog, lag

    async def run(self) -> None:
        while True:
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncio.TimeoutError):
                await self.sample()
            await asyncio.sleep(self.interval_s)
