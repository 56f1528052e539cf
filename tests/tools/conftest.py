"""A tools service running in-process against the session's PostgreSQL and NATS, and a
client that calls its tools over NATS exactly as the bridge (call tools, for a call row of
``call_rows``) and outreach (workflow tools) do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec
import nats
import pytest

from fixline_proto import subjects
from fixline_proto.codec import TOOL_RESULT_DECODER
from fixline_proto.tools import DecisionRecorded, IncidentRef, ToolResult
from services.tools.app import ToolsService
from tests.support.services import running, settings_for

from .call_rows import insert_call, unique_phone

COUNTED_TABLES = ("incidents", "incident_status_history", "outbox", "access_code_releases", "quotes",
                  "approval_decisions", "repair_bookings")
__all__ = ["ToolClient", "in_minutes", "row_counts", "unique_phone"]


class ToolClient:
    def __init__(self, nc: nats.aio.client.Client, pool: asyncpg.Pool) -> None:
        self.nc, self.pool = nc, pool

    async def raw(self, tool: str, body: bytes, timeout: float = 10.0, workflow: bool = False) -> ToolResult:
        subject = subjects.workflow_tool(tool) if workflow else subjects.tool(tool)
        reply = await self.nc.request(subject, body, timeout=timeout)
        return TOOL_RESULT_DECODER.decode(reply.data)

    async def call(self, tool: str, **args: object) -> ToolResult:
        """A call tool (``tools.<name>``); pass the ``call_id`` of a call row."""
        return await self.raw(tool, msgspec.json.encode(args))

    async def workflow(self, tool: str, **args: object) -> ToolResult:
        """A workflow tool (``tools.workflow.<name>``), as outreach uses it."""
        return await self.raw(tool, msgspec.json.encode(args), workflow=True)

    async def on_guest_call(self, tool: str, property_id: str = "p1", **args: object) -> ToolResult:
        """The tool on a fresh guest call at the property (search, reports)."""
        call_id = await insert_call(self.pool, property_id=property_id)
        return await self.call(tool, property_id=property_id, call_id=call_id, **args)

    async def open_incident(self, property_id: str = "p1", category: str = "plumbing", severity: str = "high",
                            description: str = "Burst pipe in the garage", phone: str | None = None,
                            ) -> tuple[str, str]:
        """A guest call reports a problem: (incident id, the guest call's id)."""
        call_id = await insert_call(self.pool, property_id=property_id, phone=phone or unique_phone())
        ref = await self.call("create_incident", property_id=property_id, category=category, severity=severity,
                              description=description, call_id=call_id)
        assert isinstance(ref, IncidentRef), ref
        return ref.incident_id, call_id

    async def approve(self, incident_id: str, vendor_id: str | None, property_id: str = "p1",
                      approved: bool = True) -> str:
        """The owner's decision, on a landlord call about the incident; returns that call's id."""
        call_id = await insert_call(self.pool, call_type="landlord", property_id=property_id,
                                    incident_id=incident_id, vendor_id=vendor_id)
        result = await self.call("record_decision", incident_id=incident_id, approved=approved,
                                 vendor_id=vendor_id, call_id=call_id)
        assert isinstance(result, DecisionRecorded), result
        return call_id


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
async def tools(tools_service: ToolsService, nc: nats.aio.client.Client, pool: asyncpg.Pool) -> ToolClient:
    return ToolClient(nc, pool)


async def row_counts(pool: asyncpg.Pool) -> dict[str, int]:
    async with pool.acquire() as conn:
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in COUNTED_TABLES}


def in_minutes(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)
