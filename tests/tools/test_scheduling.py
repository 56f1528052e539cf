"""schedule_repair: everything checked before the calendar is called, deterministic
calendar ids, and a calendar that cannot be reached (nothing written, retryable)."""

import re
import socket
from datetime import UTC, datetime, timedelta

import pytest

from fixline_proto.tools import ToolError
from services.tools.app import ToolsService
from services.tools.calendar import _endpoint, event_id_for
from services.tools.scheduling import _utc_start
from tests.support.services import running, settings_for

from .conftest import in_minutes, row_counts


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _incident(tools, property_id="p1", category="plumbing", vendor_id="v-plumb-1"):
    """Reported on a guest call, the vendor approved on a landlord call."""
    incident_id, _ = await tools.open_incident(property_id=property_id, category=category)
    await tools.approve(incident_id, vendor_id, property_id=property_id)
    return incident_id


def test_calendar_ids_are_deterministic_base32hex():
    start = datetime(2030, 1, 2, 10, tzinfo=UTC)
    first = event_id_for("inc-1", "v-plumb-1", start)
    assert first == event_id_for("inc-1", "v-plumb-1", start)
    assert re.fullmatch(r"[a-v0-9]{5,1024}", first)
    assert first != event_id_for("inc-1", "v-plumb-2", start)
    assert first != event_id_for("inc-1", "v-plumb-1", start + timedelta(hours=1))


def test_calendar_endpoint_gets_service_path_and_trailing_slash():
    assert _endpoint("http://127.0.0.1:9000") == "http://127.0.0.1:9000/calendar/v3/"
    assert _endpoint("http://127.0.0.1:9000/calendar/v3") == "http://127.0.0.1:9000/calendar/v3/"


def test_a_time_without_offset_is_read_in_the_property_time_zone():
    assert _utc_start(datetime(2030, 7, 1, 10, 0), "America/Los_Angeles") == datetime(2030, 7, 1, 17, tzinfo=UTC)
    assert _utc_start(datetime(2030, 7, 1, 10, tzinfo=UTC), "America/Los_Angeles").hour == 10


REFUSALS = [
    ({"incident_id": "inc-missing"}, "not_found", "incident"),
    ({"vendor_id": "v-ghost"}, "forbidden", "approved vendor v-plumb-1"),
    ({"property_id": "p2"}, "invalid_argument", "not at property p2"),
    ({"vendor_id": "v-plumb-3"}, "forbidden", "approved vendor v-plumb-1"),  # p3-only vendor
    ({"start": "2020-01-01T10:00:00Z"}, "invalid_argument", "in the past"),
]


@pytest.mark.parametrize(("change", "code", "mentions"), REFUSALS, ids=[r[2] for r in REFUSALS])
async def test_refusals_before_the_calendar_change_nothing(tools, pool, change, code, mentions):
    incident_id = await _incident(tools)
    args = {"incident_id": incident_id, "vendor_id": "v-plumb-1", "property_id": "p1",
            "start": in_minutes(24 * 60).isoformat(), **change}
    before = await row_counts(pool)
    result = await tools.workflow("schedule_repair", **args)
    assert isinstance(result, ToolError) and result.code == code and mentions in result.message
    assert await row_counts(pool) == before


async def test_closed_incident_cannot_be_booked(tools, pool):
    incident_id = await _incident(tools)
    await tools.workflow("update_incident_status", incident_id=incident_id, status="cancelled")
    before = await row_counts(pool)
    result = await tools.workflow("schedule_repair", incident_id=incident_id, vendor_id="v-plumb-1", property_id="p1",
                              start=in_minutes(120).isoformat())
    assert isinstance(result, ToolError) and result.code == "conflict" and "cancelled" in result.message
    assert await row_counts(pool) == before


async def test_unreachable_calendar_is_retryable_and_writes_nothing(tools, nc, pool):
    service = ToolsService()
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    async with running(service, settings_for("tools", kb_embed_on_start=False,
                                             google_calendar_api_endpoint=endpoint)):
        incident_id = await _incident(tools)
        before = await row_counts(pool)
        result = await service.server.call("schedule_repair", (
            f'{{"incident_id": "{incident_id}", "vendor_id": "v-plumb-1", "property_id": "p1",'
            f' "start": "{in_minutes(24 * 60).isoformat()}"}}').encode(), workflow=True)
    assert isinstance(result, ToolError) and result.code == "unavailable" and result.retryable
    assert "calendar" in result.message
    assert await row_counts(pool) == before
