"""A tools service running in-process against the session's PostgreSQL and NATS, and a
client that calls its tools over NATS exactly as the bridge does."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec
import nats
import pytest

from fixline_proto import subjects
from fixline_proto.codec import TOOL_RESULT_DECODER
from fixline_proto.tools import ToolResult
from services.tools.app import ToolsService
from tests.support.services import running, settings_for

COUNTED_TABLES = ("incidents", "incident_status_history", "outbox", "access_code_releases", "quotes",
                  "approval_decisions", "repair_bookings")


class ToolClient:
    def __init__(self, nc: nats.aio.client.Client) -> None:
        self.nc = nc

    async def raw(self, tool: str, body: bytes, timeout: float = 10.0) -> ToolResult:
        reply = await self.nc.request(subjects.tool(tool), body, timeout=timeout)
        return TOOL_RESULT_DECODER.decode(reply.data)

    async def call(self, tool: str, **args: object) -> ToolResult:
        return await self.raw(tool, msgspec.json.encode(args))


@pytest.fixture(scope="module")
async def tools_service(database_url: str, nats_url: str) -> AsyncIterator[ToolsService]:
    """Module-scoped: its outbox relay must not outlive the tools tests (other tests run
    relays of their own against the same database and a different NATS)."""
    service = ToolsService()
    async with running(service, settings_for("tools", database_url=database_url, nats_url=nats_url,
                                             outbox_poll_interval_s=0.2)):
        await service.kb_task  # the KB is embedded for the local model before the tests search
        yield service


@pytest.fixture
async def tools(tools_service: ToolsService, nc: nats.aio.client.Client) -> ToolClient:
    return ToolClient(nc)


async def row_counts(pool: asyncpg.Pool) -> dict[str, int]:
    async with pool.acquire() as conn:
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in COUNTED_TABLES}


def unique_phone() -> str:
    return "+1555" + str(uuid.uuid4().int)[:7]


def in_minutes(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)
