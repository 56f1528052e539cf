"""``make run`` offline: the Gemini emulator answers report requests from the prompt, so the
demo's end-of-call reports read like reports (the real summary code path, via the SDK)."""

from __future__ import annotations

from emulators.gemini import GeminiEmulator
from fixline.demo.report_summary import REPORT_PROMPT, report_answer
from services.tools.records import summary
from services.tools.records.gather import CallFacts, Turn


async def test_the_emulator_writes_a_report_from_the_prompt():
    facts = CallFacts(call={"id": "c1", "call_type": "guest", "direction": "inbound"}, facts={},
                      turns=[Turn(0, "agent", "Fixline, hello.", False),
                             Turn(1, "caller", "The dishwasher floods the kitchen.", False)],
                      tools=["create_incident"])
    async with GeminiEmulator() as gem:
        gem.script_generate(REPORT_PROMPT, json=report_answer)
        client = gem.client(api_version="v1beta")
        written = await summary.write(client, "gemini-3.8-flash", facts, "incident_opened", 5.0)
    assert written is not None
    assert "The dishwasher floods the kitchen." in written.summary and "incident opened" in written.summary
    assert written.follow_ups == ["Follow the vendor outreach for the new incident."]
    assert written.tokens > 0
