"""Quiet hours (nobody is phoned in them; the wait is durable across a restart and each
vendor is still dialled once) and the emergency path (no quiet hours, the emergency vendor and
the owner phoned at once, the manager's alert, a booking for now)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest
from nats.js.api import DeliverPolicy

from fixline_proto import subjects
from fixline_proto.events import IncidentAlertRaised
from fixline_proto.tools import IncidentRef
from tests.tools.call_rows import insert_call

from .conftest import outreach
from .harness import World, unique_phone

LA = ZoneInfo("America/Los_Angeles")


@contextlib.asynccontextmanager
async def quiet_window(pool, property_id: str, ends_in_s: float):
    """The property's quiet hours from an hour ago until ``ends_in_s`` from now; cleared after."""
    now = datetime.now(UTC).replace(microsecond=0)
    until = now + timedelta(seconds=ends_in_s)
    await pool.execute("UPDATE properties SET quiet_start = $2, quiet_end = $3 WHERE id = $1", property_id,
                       (now - timedelta(hours=1)).astimezone(LA).time(), until.astimezone(LA).time())
    try:
        yield until
    finally:
        await pool.execute("UPDATE properties SET quiet_start = NULL, quiet_end = NULL WHERE id = $1", property_id)


async def _report(world: World, property_id: str, category: str, urgency: str, description: str) -> str:
    call_id = await insert_call(world.pool, property_id=property_id, phone=unique_phone())
    ref = await world.tool("create_incident", property_id=property_id, category=category, severity="high",
                           description=description, call_id=call_id, needs_professional=True, urgency=urgency)
    assert isinstance(ref, IncidentRef) and ref.status == "awaiting_quotes", ref
    return ref.incident_id


async def test_nobody_is_phoned_in_quiet_hours_and_a_restart_keeps_waiting(world: World, outreach_settings):
    settings = outreach_settings()
    async with quiet_window(world.pool, "p2", ends_in_s=12) as until:
        async with outreach(settings):
            incident_id = await _report(world, "p2", "plumbing", "today", "Slow leak under the bathroom sink")
            waiting = await world.wait_stage(incident_id, "waiting")
            assert f"waiting until {until.astimezone(LA):%H:%M}" in waiting.detail
            await asyncio.sleep(1.0)
            assert world.dials_of(incident_id) == []
        async with outreach(settings):  # a new process: the durable sleep resumes
            dials = await world.wait_dials(incident_id, "vendor", 2, timeout=30)
            assert datetime.now(UTC) >= until
            await asyncio.sleep(2.0)
    assert len(world.dials_of(incident_id, "vendor")) == 2 == len({d.call_id for d in dials})
    assert world.stages(incident_id).count("waiting") == 1


async def _alerts(world: World, incident_id: str) -> list[IncidentAlertRaised]:
    found: list[IncidentAlertRaised] = []
    sub = await world.js.subscribe(subjects.event("*", "incident.alert.raised"), ordered_consumer=True,
                                   deliver_policy=DeliverPolicy.ALL)
    with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
        while True:
            msg = await sub.next_msg(timeout=0.5)
            event = msgspec.json.decode(msg.data, type=IncidentAlertRaised)
            if event.incident_id == incident_id:
                found.append(event)
    await sub.unsubscribe()
    return found


async def test_an_emergency_phones_vendor_and_owner_at_once_in_quiet_hours(world: World, outreach_settings):
    async with quiet_window(world.pool, "p2", ends_in_s=3600), outreach(outreach_settings()):
        incident_id = await _report(world, "p2", "plumbing", "emergency", "Pipe burst, water pouring into the hall")
        (vendor,) = await world.wait_dials(incident_id, "vendor", 1)
        (owner,) = await world.wait_dials(incident_id, "landlord", 1)   # before any quote: in parallel
        assert vendor.vendor_id == "v-plumb-2"                            # the emergency plumber of p2
        assert "EMERGENCY" in owner.briefing and "v-plumb-2" in owner.briefing
        assert "emergency call-out" in vendor.briefing
        (alert,) = await _alerts(world, incident_id)
        assert alert.alert_id == f"alert:{incident_id}:emergency" and "EMERGENCY" in alert.detail
        soon = datetime.now(UTC) + timedelta(minutes=20)
        result = await world.tool("record_quote", incident_id=incident_id, vendor_id="v-plumb-2", price=600.0,
                                  earliest_start=soon.isoformat(), call_id=vendor.call_id)
        assert type(result).__name__ == "QuoteRecorded", result
        await world.hang_up(vendor)
        await world.landlord_decides(owner, approved=True, vendor_id="v-plumb-2")
        await world.hang_up(owner)
        scheduled = await world.wait_stage(incident_id, "scheduled", timeout=30)
        (guest,) = await world.wait_dials(incident_id, "guest", 1)
        await world.hang_up(guest)
        await world.wait_stage(incident_id, "done")
    start = datetime.fromisoformat(scheduled.detail)
    assert abs((start - soon).total_seconds()) < 60   # booked for the vendor's "now", not working hours
    assert "waiting" not in world.stages(incident_id)
    assert world.stages(incident_id)[:4] == ["started", "emergency", "calling_landlord", "calling_vendor"]


async def _machine_answers(world: World, dial) -> None:
    """Twilio's AMD said machine (ingress stores it on the call row), then the call ends."""
    await world.pool.execute("UPDATE calls SET answered_by = 'machine_end_beep' WHERE id = $1", dial.call_id)
    await world.hang_up(dial)


@pytest.mark.parametrize(("max_vendors", "retried"), [(4, True), (3, False)])
async def test_a_machine_is_called_again_only_when_nobody_quoted_and_the_budget_allows(
        world: World, outreach_settings, max_vendors, retried):
    settings = outreach_settings(outreach_max_vendors=max_vendors, outreach_retry_delay_s=0.5)
    async with outreach(settings):
        incident_id = await _report(world, "p2", "plumbing", "today", "Toilet cistern overflowing slowly")
        first = {d.vendor_id: d for d in await world.wait_dials(incident_id, "vendor", 2)}
        for dial in first.values():          # two plumbers do not pick up; the third one's machine does
            await world.hang_up(dial, reason="no-answer")
        third = next(d for d in await world.wait_dials(incident_id, "vendor", 3) if d.vendor_id == "v-plumb-5")
        await _machine_answers(world, third)
        if retried:
            again = (await world.wait_dials(incident_id, "vendor", 4))[-1]
            assert again.vendor_id == "v-plumb-5" and again.call_id != third.call_id  # the machine's, not the others
            assert "voicemail_retry" in world.stages(incident_id)
        else:
            await world.wait_stage(incident_id, "escalated")
            await asyncio.sleep(1.0)
    assert len(world.dials_of(incident_id, "vendor")) == (4 if retried else 3)


async def test_a_malformed_quiet_hours_setting_stops_the_start(outreach_settings):
    with pytest.raises(ValueError, match="quiet hours must look like 21:00-08:00"):
        async with outreach(outreach_settings(outreach_quiet_hours="9pm-8am")):
            pass
