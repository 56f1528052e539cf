"""The outreach service against the session's PostgreSQL and NATS, with the real tools
service (quotes, decisions, bookings on the Calendar emulator) and the Gemini emulator
for the quote analysis."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import nats
import pytest

from emulators.calendar import CalendarEmulator
from emulators.gemini import GeminiEmulator
from services.outreach.app import OutreachService
from services.tools.app import ToolsService
from tests.support.services import running, settings_for

from .harness import World


@pytest.fixture(scope="module")
async def gemini() -> AsyncIterator[GeminiEmulator]:
    async with GeminiEmulator() as gem:
        yield gem


@pytest.fixture(scope="module")
async def tools_service(database_url: str, nats_url: str, calendar: CalendarEmulator) -> AsyncIterator[ToolsService]:
    settings = settings_for("tools", database_url=database_url, nats_url=nats_url, outbox_poll_interval_s=0.1,
                            kb_embed_on_start=False, embedding_provider="local",
                            google_application_credentials=calendar.service_account_file,
                            google_calendar_api_endpoint=calendar.api_endpoint)
    async with running(ToolsService(), settings) as svc:
        yield svc


@pytest.fixture
async def world(tools_service: ToolsService, nc: nats.aio.client.Client, pool) -> AsyncIterator[World]:
    w = await World(nc, pool).start()
    yield w
    await w.stop()


@pytest.fixture
def outreach_settings(database_url: str, nats_url: str, gemini: GeminiEmulator):
    """Settings of one test's outreach deployment: its own executor id and durable consumers
    (a restart within the test reuses them, as a restarted pod would)."""
    tag = uuid.uuid4().hex[:8]

    def make(**overrides: object):
        values = dict(database_url=database_url, nats_url=nats_url, gemini_api_key=gemini.api_key,
                      gemini_base_url=gemini.base_url, gemini_ca_file=gemini.ca_file, gemini_api_version="v1beta",
                      outreach_executor_id=f"outreach-test-{tag}", outreach_trigger_consumer=f"outreach-triggers-{tag}",
                      outreach_results_consumer=f"outreach-results-{tag}", outreach_call_timeout_s=30.0,
                      outreach_result_grace_s=1.0)
        values.update(overrides)
        return settings_for("outreach", **values)

    return make


@contextlib.asynccontextmanager
async def outreach(settings) -> AsyncIterator[OutreachService]:
    service = OutreachService()
    async with running(service, settings):
        yield service
