"""A model that does only what the guest prompt asks (search, then create_incident with the
facts it asks for) starts outreach: nothing sets ``awaiting_quotes`` but the system."""

from __future__ import annotations

import asyncio
import uuid

from services.bridge.personas import _template
from services.outreach.app import OutreachService
from tests.support.services import running, settings_for

from .harness import World, call_id_of, scenario

REPORT = "The kitchen sink is still leaking after I closed the valve."


def guest_prompt_scenario() -> dict:
    """Exactly the guest prompt's steps 1, 2, 4, 5 and 6, with the fields it names."""
    return scenario(
        {"say": "Hi, this is Fixline, the maintenance line for Seaside Cottage. How can I help?"},
        {"listen": REPORT},
        {"tool_call": {"name": "search_maintenance", "args": {"query": "kitchen sink leaking"}}, "wait": True},
        {"tool_call": {"name": "create_incident", "args": {
            "category": "plumbing", "severity": "medium", "needs_professional": True, "urgency": "today",
            "description": "Kitchen sink leaking under the cabinet; closing the valve did not stop it."}},
         "wait": True},
        {"say": "I have logged it; we are arranging a plumber and will call you back with a time. Goodbye."},
        {"tool_call": {"name": "end_call", "args": {"reason": "resolved"}}, "wait": True},
    )


def test_the_guest_prompt_asks_for_the_facts_the_system_needs():
    prompt = _template("guest")
    assert "needs_professional" in prompt and "urgency" in prompt
    assert "awaiting_quotes" not in prompt and "update_incident_status" not in prompt


async def test_a_model_following_the_guest_prompt_starts_outreach(world: World, e2e_database, nats_url):
    tag = uuid.uuid4().hex[:8]
    settings = settings_for("outreach", database_url=e2e_database, nats_url=nats_url,
                            gemini_api_key=world.gemini.api_key, gemini_base_url=world.gemini.base_url,
                            gemini_ca_file=world.gemini.ca_file, outreach_executor_id=f"e2e-{tag}",
                            outreach_trigger_consumer=f"e2e-triggers-{tag}",
                            outreach_results_consumer=f"e2e-results-{tag}", outreach_call_timeout_s=60.0)
    for vendor in ("+15550201001", "+15550201002"):  # the plumbers of p1 pick up and hang up at once
        world.twilio.set_callee(vendor, {"answered_by": "human", "steps": [], "max_duration_s": 2})
    async with running(OutreachService(), settings):
        call = await world.call(guest_prompt_scenario(), {"steps": [{"say": REPORT}], "max_duration_s": 30},
                                wait=False)
        await call.wait(40)
        call_id = call_id_of(call)
        session = next(s for s in reversed(world.gemini.sessions) if "the guest" in s.cfg.system_instruction)
        required = session.cfg.tools["create_incident"]["parameters"]["required"]
        assert {"needs_professional", "urgency"} <= set(required)
        called = [c["name"] for turn in session.state.history for c in turn.get("tool_calls", [])]
        assert "update_incident_status" not in called
        incident = await world.pool.fetchrow("SELECT id, status, needs_professional, urgency FROM incidents"
                                             " WHERE call_id = $1", call_id)
        assert (incident["status"], incident["needs_professional"], incident["urgency"]) == \
            ("awaiting_quotes", True, "today")
        for _ in range(200):  # outreach phones the plumbers of the property
            dialled = await world.pool.fetchval("SELECT count(*) FROM calls WHERE incident_id = $1"
                                                " AND call_type = 'vendor'", incident["id"])
            if dialled:
                break
            await asyncio.sleep(0.1)
        assert dialled >= 1, "outreach never phoned a vendor"
