"""Reference data for the page: property names and time zones, vendor names.

Read-only from PostgreSQL (``properties``, ``vendors``), refreshed every minute. Events
carry only ids; the page needs each property's time zone to show local times.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from services.common.tasks import TaskSet

from .views import PropertyInfo, VendorInfo

log = logging.getLogger(__name__)
REFRESH_INTERVAL_S = 60.0


class Directory:
    def __init__(self) -> None:
        self.properties: dict[str, PropertyInfo] = {}
        self.vendors: dict[str, VendorInfo] = {}
        self._tasks = TaskSet("notifier-directory")

    def property(self, property_id: str) -> PropertyInfo:
        return self.properties.get(property_id) or PropertyInfo(id=property_id, name=property_id)

    async def load(self, pool: asyncpg.Pool) -> None:
        async with pool.acquire() as conn:
            properties = await conn.fetch("SELECT id, name, timezone, address FROM properties ORDER BY id")
            vendors = await conn.fetch("SELECT id, name, trade FROM vendors ORDER BY id")
        self.properties = {r["id"]: PropertyInfo(id=r["id"], name=r["name"], timezone=r["timezone"],
                                                 address=r["address"]) for r in properties}
        self.vendors = {r["id"]: VendorInfo(id=r["id"], name=r["name"], trade=r["trade"]) for r in vendors}

    def start_refreshing(self, pool: asyncpg.Pool) -> None:
        self._tasks.spawn(self._refresh(pool), name="notifier-directory")

    async def stop(self) -> None:
        await self._tasks.close()

    async def _refresh(self, pool: asyncpg.Pool) -> None:
        while True:
            try:
                await self.load(pool)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("directory refresh failed; keeping the last copy", extra={"error": str(exc)})
            await asyncio.sleep(REFRESH_INTERVAL_S)
