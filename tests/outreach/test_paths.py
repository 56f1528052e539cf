"""The other endings: the landlord declines (recorded on the incident, the guest told); a vendor
never answers (timeout: the next vendor of the trade is called); nobody answers (escalated);
Gemini down (cheapest-earliest fallback)."""

from __future__ import annotations

from emulators.gemini import GeminiEmulator
from tests.tools.call_rows import insert_call

from .conftest import outreach
from .harness import World, unique_phone


async def _status(pool, incident_id: str) -> str:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT status FROM incidents WHERE id = $1", incident_id)


async def test_declined_with_gemini_down_falls_back_to_cheapest(world: World, outreach_settings, pool,
                                                                gemini: GeminiEmulator):
    async with outreach(outreach_settings()):
        incident_id, _ = await world.open_incident("p3", "hvac")
        vendors = await world.wait_dials(incident_id, "vendor", 2)
        assert {d.vendor_id for d in vendors} == {"v-hvac-3", "v-hvac-4"}
        gemini.fail_next(503, times=3)  # every retry of the analysis step fails
        prices = {"v-hvac-3": 410.0, "v-hvac-4": 395.0}
        for dial in vendors:
            await world.vendor_quotes(dial, price=prices[dial.vendor_id], in_hours=4)
            await world.hang_up(dial)
        (landlord,) = await world.wait_dials(incident_id, "landlord", 1)
        recommended = await world.wait_stage(incident_id, "recommended")
        assert recommended.vendor_id == "v-hvac-4" and "lowest price" in recommended.detail
        await world.landlord_decides(landlord, approved=False)
        await world.hang_up(landlord)
        declined = await world.wait_stage(incident_id, "declined")
        assert declined.detail == "too expensive"
        (guest,) = await world.wait_dials(incident_id, "guest", 1)  # the guest hears it from us
        assert "decided not to book" in guest.briefing
        await world.hang_up(guest)
        await world.wait_stage(incident_id, "guest_told")
    assert "scheduled" not in world.stages(incident_id)
    assert await _status(pool, incident_id) == "cancelled"  # not left in awaiting_approval
    async with pool.acquire() as conn:
        note = await conn.fetchval("SELECT note FROM incident_status_history WHERE incident_id = $1"
                                   " ORDER BY id DESC LIMIT 1", incident_id)
        assert note == "the owner declined the repair: too expensive"
        assert await conn.fetchval("SELECT count(*) FROM repair_bookings WHERE incident_id = $1", incident_id) == 0


async def test_a_vendor_without_answer_is_replaced_by_the_next_of_the_trade(world: World, outreach_settings):
    async with outreach(outreach_settings(outreach_call_timeout_s=20.0)):
        incident_id, _ = await world.open_incident("p1", "plumbing")
        first = {d.vendor_id: d for d in await world.wait_dials(incident_id, "vendor", 2)}
        assert set(first) == {"v-plumb-1", "v-plumb-2"}
        await world.hang_up(first["v-plumb-2"], reason="no-answer")
        dials = await world.wait_dials(incident_id, "vendor", 3)  # the third plumber serving p1
        third = next(d for d in dials if d.vendor_id not in first)
        assert third.vendor_id == "v-plumb-5"
        await world.vendor_quotes(first["v-plumb-1"], price=250.0, in_hours=3)
        await world.vendor_quotes(third, price=190.0, in_hours=5)
        for dial in (first["v-plumb-1"], third):
            await world.hang_up(dial)
        (landlord,) = await world.wait_dials(incident_id, "landlord", 1)
        assert "v-plumb-5" in landlord.briefing and "v-plumb-2" not in landlord.briefing
        await world.landlord_decides(landlord, approved=False)
        await world.wait_stage(incident_id, "declined")
    assert len(world.dials_of(incident_id, "vendor")) == 3


async def test_vendor_without_answer_times_out_and_outreach_goes_on(world: World, outreach_settings):
    async with outreach(outreach_settings(outreach_call_timeout_s=2.0)):
        incident_id, _ = await world.open_incident("p1", "locks")
        vendors = await world.wait_dials(incident_id, "vendor", 2)
        answered = next(d for d in vendors if d.vendor_id == "v-lock-1")
        await world.vendor_quotes(answered, price=150.0, in_hours=3)
        await world.hang_up(answered)
        # v-lock-2 rings out: no CallEnded, no quote
        (landlord,) = await world.wait_dials(incident_id, "landlord", 1, timeout=10)
        assert "v-lock-1" in landlord.briefing and "v-lock-2" not in landlord.briefing
        no_answer = await world.wait_stage(incident_id, "no_answer")
        assert no_answer.vendor_id == "v-lock-2" and no_answer.detail == "no answer"
        await world.landlord_decides(landlord, approved=False)
        await world.wait_stage(incident_id, "declined")
    assert len(world.dials_of(incident_id, "vendor")) == 2


async def test_nobody_answers_escalates_to_the_manager(world: World, outreach_settings):
    async with outreach(outreach_settings(outreach_call_timeout_s=1.5, outreach_result_grace_s=0.5)):
        incident_id, _ = await world.open_incident("p2", "appliance")
        vendors = await world.wait_dials(incident_id, "vendor", 2)  # the only two appliance vendors of p2
        await world.hang_up(vendors[0], reason="no-answer")  # one rang out, the other never reports
        escalated = await world.wait_stage(incident_id, "escalated", timeout=10)
        assert escalated.detail.startswith("no vendor gave a quote (2 called)")
    stages = world.stages(incident_id)
    assert stages.count("no_answer") == 2 and "calling_landlord" not in stages
    assert world.dials_of(incident_id, "landlord") == []


async def test_a_repeat_report_that_now_needs_a_professional_starts_outreach(world: World, outreach_settings):
    """First report: the guest is still troubleshooting (no professional yet, nobody dialled);
    the same problem reported again needing one moves the incident on and outreach starts."""
    async with outreach(outreach_settings()):
        guest = unique_phone()  # the same guest rings twice: two calls, one number
        first_call, second_call = [await insert_call(world.pool, property_id="p2", phone=guest) for _ in range(2)]
        args = dict(property_id="p2", category="plumbing", severity="medium", description="Bathroom tap dripping")
        first = await world.tool("create_incident", **args, call_id=first_call, needs_professional=False,
                                 urgency="flexible")
        assert first.status == "open", first
        again = await world.tool("create_incident", **args, call_id=second_call, needs_professional=True,
                                 urgency="this_week")
        assert (again.incident_id, again.status, again.duplicate) == (first.incident_id, "awaiting_quotes", True)
        await world.wait_dials(first.incident_id, "vendor", 2)


async def test_an_owner_without_a_decision_is_called_again_then_it_goes_on(world: World, outreach_settings):
    async with outreach(outreach_settings(outreach_retry_delay_s=0.5)):
        incident_id, _ = await world.open_incident("p2", "hvac")
        for dial in await world.wait_dials(incident_id, "vendor", 2):
            await world.vendor_quotes(dial, price=300.0, in_hours=4)
            await world.hang_up(dial)
        (first,) = await world.wait_dials(incident_id, "landlord", 1)
        await world.hang_up(first, reason="no-answer")  # rang out: no decision
        landlords = await world.wait_dials(incident_id, "landlord", 2, timeout=20)
        second = next(d for d in landlords if d.call_id != first.call_id)
        await world.landlord_decides(second, approved=True, vendor_id="v-hvac-1")
        await world.hang_up(second)
        (guest,) = await world.wait_dials(incident_id, "guest", 1)
        await world.hang_up(guest)
        await world.wait_stage(incident_id, "done")
    assert len(world.dials_of(incident_id, "landlord")) == 2
