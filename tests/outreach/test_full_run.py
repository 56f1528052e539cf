"""Outreach end to end: vendors dialled in parallel, quotes recorded by the (simulated) vendor
agent through the real tools service, Gemini's analysis, the landlord's approval, the repair
booked on the calendar, the guest called back; and a restart in the middle."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import asyncpg
from dbos import _dbos as dbos_internals

from emulators.calendar import CalendarEmulator
from emulators.gemini import GeminiEmulator

from services.outreach import engine

from .conftest import outreach
from .harness import World

PARENT_STAGES = ["started", "analysing", "recommended", "calling_landlord", "approved", "scheduled",
                 "calling_guest", "done"]


def in_order(stages: list[str], expected: list[str]) -> bool:
    positions = [stages.index(s) for s in expected]
    return positions == sorted(positions)


async def _workflow_status(settings, workflow_id: str) -> str:
    conn = await asyncpg.connect(engine.system_database_url(settings))
    try:
        return await conn.fetchval("SELECT status FROM dbos.workflow_status WHERE workflow_uuid = $1", workflow_id)
    finally:
        await conn.close()


async def _booked(pool, incident_id: str) -> tuple[str, list]:
    async with pool.acquire() as conn:
        status = await conn.fetchval("SELECT status FROM incidents WHERE id = $1", incident_id)
        rows = await conn.fetch("SELECT vendor_id, calendar_event_id FROM repair_bookings WHERE incident_id = $1",
                                incident_id)
    return status, rows


async def test_full_run_quotes_analysis_approval_booking_guest(world: World, outreach_settings, gemini: GeminiEmulator,
                                                               calendar: CalendarEmulator, pool):
    async with outreach(outreach_settings()):
        incident_id, guest_phone = await world.open_incident("p1", "plumbing")
        vendors = await world.wait_dials(incident_id, "vendor", 2)
        await world.retrigger("p1", incident_id)  # same workflow id: no second outreach
        by_vendor = {d.vendor_id: d for d in vendors}
        assert set(by_vendor) == {"v-plumb-1", "v-plumb-2"}  # the two best rated plumbers serving p1
        assert by_vendor["v-plumb-1"].to_number == "+15550201001"
        assert "Kitchen sink" in by_vendor["v-plumb-1"].briefing
        # Gemini prefers the dearer but sooner vendor: proves its answer is used, not the fallback.
        gemini.script_generate("v-plumb-2", json={"vendor_id": "v-plumb-1", "reason": "Can come in two hours."},
                               times=1)
        await world.vendor_quotes(by_vendor["v-plumb-1"], price=240.0, in_hours=2)
        await world.vendor_quotes(by_vendor["v-plumb-2"], price=180.0, in_hours=30)
        for dial in vendors:
            await world.hang_up(dial)

        (landlord,) = await world.wait_dials(incident_id, "landlord", 1)
        assert landlord.to_number == "+15550109001"
        assert "240.00" in landlord.briefing and "180.00" in landlord.briefing
        assert "Can come in two hours." in landlord.briefing
        request = [r for r in gemini.rest_requests if r["method"] == "generateContent"][-1]
        prompt = json.dumps(request["body"])
        assert request["model"] == "gemini-3.8-flash"
        assert "v-plumb-1" in prompt and "v-plumb-2" in prompt and "240" in prompt and "180" in prompt
        assert "responseSchema" in json.dumps(request["body"]) or "response_schema" in prompt
        status, _ = await _booked(pool, incident_id)  # moved before the landlord was dialled
        assert status == "awaiting_approval"

        await world.landlord_decides(landlord, approved=True, vendor_id="v-plumb-1")
        await world.hang_up(landlord)
        (guest,) = await world.wait_dials(incident_id, "guest", 1)
        assert guest.to_number == guest_phone and "booked" in guest.briefing
        await world.hang_up(guest)
        await world.wait_stage(incident_id, "done")

    status, bookings = await _booked(pool, incident_id)
    assert status == "scheduled"
    assert [b["vendor_id"] for b in bookings] == ["v-plumb-1"]
    async with pool.acquire() as conn:
        start, end = await conn.fetchrow("SELECT starts_at, ends_at FROM repair_bookings WHERE incident_id = $1",
                                         incident_id)
    local_start, local_end = (t.astimezone(ZoneInfo("America/Los_Angeles")) for t in (start, end))
    assert local_start.hour >= 8 and (local_end.hour, local_end.minute) <= (18, 0)  # inside working hours
    assert start > datetime.now(UTC)
    assert bookings[0]["calendar_event_id"] in calendar.store.calendars["primary"].events
    assert len(world.dials_of(incident_id)) == 4  # exactly one per callee
    stages = world.stages(incident_id)
    assert stages.count("started") == 1
    assert in_order(stages, PARENT_STAGES), stages
    assert stages.count("calling_vendor") == 2 and stages.count("quote_received") == 2
    assert max(i for i, s in enumerate(stages) if s in ("calling_vendor", "quote_received")) < stages.index("analysing")


async def test_restart_between_dials_and_results_dials_nobody_twice(world: World, outreach_settings, pool,
                                                                    gemini: GeminiEmulator):
    settings = outreach_settings()
    async with outreach(settings) as first:
        incident_id, _ = await world.open_incident("p2", "electrical")
        vendors = await world.wait_dials(incident_id, "vendor", 2)
    assert first.suspended == 3  # the incident's workflow and its two vendor calls, stopped mid-wait
    assert dbos_internals._dbos_global_instance is None
    assert await _workflow_status(settings, f"outreach:{incident_id}") == "PENDING"
    # outreach is down: the vendors' agents record quotes and hang up meanwhile
    by_vendor = {d.vendor_id: d for d in vendors}
    assert set(by_vendor) == {"v-elec-1", "v-elec-2"}
    await world.vendor_quotes(by_vendor["v-elec-1"], price=300.0, in_hours=5)
    await world.vendor_quotes(by_vendor["v-elec-2"], price=200.0, in_hours=6)
    for dial in vendors:
        await world.hang_up(dial)

    async with outreach(settings):  # a new process: recovery by executor id, results from the durable consumer
        (landlord,) = await world.wait_dials(incident_id, "landlord", 1, timeout=20)
        await world.landlord_decides(landlord, approved=True, vendor_id="v-elec-2")
        await world.hang_up(landlord)
        (guest,) = await world.wait_dials(incident_id, "guest", 1)
        await world.hang_up(guest)
        await world.wait_stage(incident_id, "done")

    assert await _workflow_status(settings, f"outreach:{incident_id}") == "SUCCESS"
    assert len(world.dials_of(incident_id, "vendor")) == 2  # still one DialCall per vendor in the stream
    assert len(world.dials_of(incident_id)) == 4
    assert world.stages(incident_id).count("calling_vendor") == 2
    status, bookings = await _booked(pool, incident_id)
    assert status == "scheduled" and [b["vendor_id"] for b in bookings] == ["v-elec-2"]
