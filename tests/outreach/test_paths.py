"""The other endings: the landlord declines; a vendor never answers (timeout: go on with the
quotes there are); nobody answers (failed); Gemini down (cheapest-earliest fallback)."""

from __future__ import annotations

from emulators.gemini import GeminiEmulator

from .conftest import outreach
from .harness import World


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
    assert world.dials_of(incident_id, "guest") == []
    assert "scheduled" not in world.stages(incident_id)
    assert await _status(pool, incident_id) == "awaiting_approval"
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM repair_bookings WHERE incident_id = $1", incident_id) == 0


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


async def test_nobody_answers_reports_failed(world: World, outreach_settings):
    async with outreach(outreach_settings(outreach_call_timeout_s=1.5, outreach_result_grace_s=0.5)):
        incident_id, _ = await world.open_incident("p2", "appliance")
        vendors = await world.wait_dials(incident_id, "vendor", 2)
        await world.hang_up(vendors[0], reason="no-answer")  # one rang out, the other never reports
        failed = await world.wait_stage(incident_id, "failed", timeout=10)
        assert failed.detail == "no vendor gave a quote"
    stages = world.stages(incident_id)
    assert stages.count("no_answer") == 2 and "calling_landlord" not in stages
    assert world.dials_of(incident_id, "landlord") == []


async def test_a_repeat_report_that_now_needs_a_professional_starts_outreach(world: World, outreach_settings):
    """First report: the guest is still troubleshooting (no professional yet, nobody dialled);
    the same problem reported again needing one moves the incident on and outreach starts."""
    async with outreach(outreach_settings()):
        args = dict(property_id="p2", category="plumbing", severity="medium", caller_phone="+15550177001",
                    description="Bathroom tap dripping")
        first = await world.tool("create_incident", **args, needs_professional=False, urgency="flexible")
        assert first.status == "open"
        again = await world.tool("create_incident", **args, needs_professional=True, urgency="this_week")
        assert (again.incident_id, again.status, again.duplicate) == (first.incident_id, "awaiting_quotes", True)
        await world.wait_dials(first.incident_id, "vendor", 2)
