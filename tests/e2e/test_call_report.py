"""A whole guest call leaves its end-of-call report: carrier -> ingress -> bridge -> Gemini
(SDK) -> tools, then the tools service's records consumer builds the report from the real
events (transcript, the bridge's outcome with Live token usage, ingress's end) and rows."""

from __future__ import annotations

import json

from tests.tools.records_support import report_of

from .harness import World, call_id_of, scenario


async def test_a_guest_call_gets_a_report_with_tokens_cost_and_transcript(world: World):
    sc = scenario(
        {"say": "Hi, this is Fixline maintenance. How can I help?"},
        {"listen": "My kitchen sink is leaking."},
        {"tool_call": {"name": "create_incident", "args": {
            "category": "plumbing", "severity": "high", "description": "Kitchen sink leaking."}}, "wait": True},
        {"say": "I have logged the leak and a plumber will call you."},
        {"listen": "Thanks, bye."},
        {"say": "Goodbye."},
        {"tool_call": {"name": "end_call", "args": {"reason": "resolved"}}, "wait": True},
    )
    callee = {"steps": [{"say": "My kitchen sink is leaking."}, {"say": "Thanks, bye."}], "max_duration_s": 40}
    call = await world.call(sc, callee, timeout=40)
    call_id = call_id_of(call)

    report = await report_of(world.pool, call_id, timeout=30)
    assert (report["call_type"], report["direction"], report["outcome"]) == ("guest", "inbound", "incident_opened")
    assert report["source"] == "fallback", "this world's tools service has no Gemini key"
    assert report["tools"] == ["create_incident"] and report["incident_id"]
    assert report["agent_outcome"] == "agent_hangup" and report["duration_s"] > 0
    usage = report["usage"]
    assert usage["input_audio_tokens"] > 0 and usage["output_audio_tokens"] > 0, usage
    assert report["cost"]["billed_minutes"] >= 1 and report["cost"]["gemini"] > 0
    stored = await world.pool.fetch("SELECT role, text FROM transcript_turns WHERE call_id = $1 ORDER BY turn, id",
                                    call_id)
    assert ("caller", "My kitchen sink is leaking.") in [(r["role"], r["text"]) for r in stored]
    assert report["turns"] == len(stored) and report["caller_turns"] >= 2
    published = await world.events(call_id, "call.report")
    assert [e.report_id for e in published] == [report["report_id"]]
    assert json.loads(await world.pool.fetchval("SELECT report::text FROM call_reports WHERE call_id = $1",
                                                call_id))["summary"] == report["summary"]
