"""End-of-call reports, built by the tools service's records consumer from the call events
on the real bus and the rows in the real database, with the Gemini emulator as the model."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from emulators.gemini import GeminiEmulator
from services.tools.app import ToolsService
from tests.support.services import running, settings_for

from .call_rows import insert_call
from .conftest import ToolClient
from .records_support import count, ended, outcome, published_reports, report_of, talk

GUEST_TALK = [("agent", "Hi, Fixline maintenance, how can I help?"),
              ("caller", "Water is leaking under the kitchen sink."),
              ("agent", "Please close the valve under the sink. I am opening a maintenance ticket."),
              ("caller", "Done, thanks.")]


@pytest.fixture(scope="module")
async def gemini() -> AsyncIterator[GeminiEmulator]:
    async with GeminiEmulator() as gem:
        yield gem


@pytest.fixture(scope="module")
async def tools_service(database_url: str, nats_url: str, gemini: GeminiEmulator) -> AsyncIterator[ToolsService]:
    settings = settings_for("tools", database_url=database_url, nats_url=nats_url, outbox_poll_interval_s=0.1,
                            kb_embed_on_start=False, embedding_provider="local",
                            gemini_api_key=gemini.api_key, gemini_base_url=gemini.base_url,
                            gemini_ca_file=gemini.ca_file, gemini_api_version="v1beta",
                            records_consumer=f"test-records-{uuid.uuid4().hex[:8]}",
                            report_settle_s=0.2, report_outcome_wait_s=1.5, report_timeout_s=5.0)
    service = ToolsService()
    async with running(service, settings):
        yield service


@pytest.fixture(autouse=True)
def fresh_gemini(gemini: GeminiEmulator):
    gemini.rest.rules.clear()
    gemini.rest.failures.clear()
    yield
    gemini.rest.failures.clear()


def report_requests(gemini: GeminiEmulator) -> list[dict]:
    return [r for r in gemini.rest_requests if r["method"] == "generateContent"]


async def test_guest_call_report_from_the_model(tools: ToolClient, nc, pool: asyncpg.Pool, gemini: GeminiEmulator):
    incident_id, call_id = await tools.open_incident(description="Leak under the kitchen sink")
    gemini.script_generate("kitchen sink", json={
        "summary": "Guest reported a leak under the kitchen sink; closed the valve; incident opened.",
        "follow_ups": ["Send a plumber.", "  "]})
    before = len(report_requests(gemini))
    await talk(nc, call_id, GUEST_TALK, interrupted=(2,))
    await outcome(nc, call_id, incident_id=incident_id)
    await ended(nc, call_id, duration_s=100.0)

    report = await report_of(pool, call_id)
    assert report["type"] == "call.report" and report["source"] == "gemini"
    assert report["summary"].startswith("Guest reported a leak under the kitchen sink")
    assert report["follow_ups"] == ["Send a plumber."]
    assert report["outcome"] == "incident_opened" and report["incident_id"] == incident_id
    assert report["tools"] == ["create_incident"]
    assert (report["turns"], report["caller_turns"], report["interruptions"]) == (4, 2, 1)
    assert report["duration_s"] == 100.0 and report["talk_s"] == 95.0
    usage = report["usage"]
    assert (usage["input_audio_tokens"], usage["input_text_tokens"], usage["output_audio_tokens"]) == (2400, 600, 1800)
    assert usage["report_tokens"] > 0
    cost = report["cost"]
    assert cost["billed_minutes"] == 2 and cost["telephony"] == pytest.approx(2 * 0.0085)
    expected_gemini = (2400 * 3.0 + 600 * 0.5 + 1800 * 12.0 + usage["report_tokens"] * 2.0) / 1e6
    assert cost["gemini"] == pytest.approx(expected_gemini, abs=1e-6)
    assert cost["total"] == pytest.approx(cost["telephony"] + cost["gemini"], abs=1e-6)
    # structured output: the request carried the JSON schema; the transcript was in the prompt
    asked = report_requests(gemini)[before:]
    assert len(asked) == 1
    config = asked[0]["body"]["generationConfig"]
    assert config["responseMimeType"] == "application/json" and "summary" in str(config)
    assert "Water is leaking under the kitchen sink." in str(asked[0]["body"]["contents"])
    # the transcript is stored, and the event went out through the outbox
    assert await count(pool, "SELECT count(*) FROM transcript_turns WHERE call_id = $1", call_id) == 4
    on_the_bus = await published_reports(nc, call_id)
    assert [e["report_id"] for e in on_the_bus] == [report["report_id"]]
    assert await count(pool, "SELECT count(*) FROM outbox WHERE subject = 'events.p1.call.report'"
                             " AND convert_from(payload, 'UTF8') LIKE '%' || $1 || '%'", call_id) == 1


async def test_plain_report_when_the_model_is_unavailable(tools: ToolClient, nc, pool, gemini: GeminiEmulator,
                                                          tools_service: ToolsService):
    counted = tools_service.metrics.call_reports.labels("incident_opened", "fallback")._value.get()
    incident_id, call_id = await tools.open_incident(description="Heater makes a bang")
    gemini.fail_next(503, times=20)
    await talk(nc, call_id, [("agent", "Fixline, hello."), ("caller", "The heater makes a loud bang.")])
    await ended(nc, call_id, duration_s=59.0)           # the other order: the phone side first
    await outcome(nc, call_id, incident_id=incident_id)

    report = await report_of(pool, call_id)
    assert report["source"] == "fallback"
    await asyncio.sleep(0.2)
    assert tools_service.metrics.call_reports.labels("incident_opened", "fallback")._value.get() >= counted + 1
    assert "The heater makes a loud bang." in report["summary"] and "Incident opened" in report["summary"]
    assert report["follow_ups"] == ["Outreach finds a vendor for the incident."]
    assert report["outcome"] == "incident_opened" and report["cost"]["billed_minutes"] == 1
    assert report["usage"]["input_audio_tokens"] == 2400   # the outcome arrived second and still counts


async def test_unusable_model_answer_falls_back(tools: ToolClient, nc, pool, gemini: GeminiEmulator):
    call_id = await insert_call(pool)
    gemini.script_generate(None, text="not json at all")
    await talk(nc, call_id, [("caller", "How do I reset the wifi router?"), ("agent", "Unplug it for 10 s.")])
    await outcome(nc, call_id)
    await ended(nc, call_id)
    report = await report_of(pool, call_id)
    assert report["source"] == "fallback" and report["outcome"] == "resolved_by_troubleshooting"


async def test_a_redelivered_end_makes_no_second_report(tools: ToolClient, nc, pool, gemini: GeminiEmulator):
    call_id = await insert_call(pool)
    await talk(nc, call_id, [("caller", "Where is the spare towel?"), ("agent", "In the hall closet.")])
    await outcome(nc, call_id)
    await ended(nc, call_id)
    first = await report_of(pool, call_id)
    asked = len(report_requests(gemini))
    for _ in range(2):   # new event ids: not deduplicated by the stream, only by the report's key
        await ended(nc, call_id)
        await outcome(nc, call_id)
    await asyncio.sleep(1.5)
    assert await count(pool, "SELECT count(*) FROM call_reports WHERE call_id = $1", call_id) == 1
    assert (await report_of(pool, call_id))["report_id"] == first["report_id"]
    assert await count(pool, "SELECT count(*) FROM outbox WHERE subject = 'events.p1.call.report'"
                             " AND convert_from(payload, 'UTF8') LIKE '%' || $1 || '%'", call_id) == 1
    assert len(report_requests(gemini)) == asked, "the model is not asked again for a reported call"


async def test_unanswered_outbound_call_is_reported_without_an_outcome(tools: ToolClient, nc, pool, gemini):
    call_id = await insert_call(pool, call_type="vendor", vendor_id="v-plumb-1")
    async with pool.acquire() as conn:
        await conn.execute("UPDATE calls SET status = 'no-answer', started_at = NULL, ended_at = now()"
                           " WHERE id = $1", call_id)
    asked = len(report_requests(gemini))
    await ended(nc, call_id, duration_s=0.0, reason="no-answer")
    await asyncio.sleep(0.5)
    assert await count(pool, "SELECT count(*) FROM call_reports WHERE call_id = $1", call_id) == 0, \
        "the bridge's outcome is awaited first"
    report = await report_of(pool, call_id)
    assert (report["outcome"], report["call_type"], report["direction"]) == ("no_answer", "vendor", "outbound")
    assert report["cost"]["total"] == 0 and report["agent_outcome"] == ""
    assert len(report_requests(gemini)) == asked, "nothing was said: no model request"


async def test_events_about_another_propertys_call_are_not_stored(tools: ToolClient, nc, pool):
    call_id = await insert_call(pool, property_id="p1")
    await talk(nc, call_id, [("caller", "<script>x</script> I am p2")], property_id="p2")
    await talk(nc, "call-does-not-exist", [("caller", "hello")])
    await outcome(nc, call_id, property_id="p2")
    await ended(nc, call_id, property_id="p2")
    await asyncio.sleep(1.0)
    assert await count(pool, "SELECT count(*) FROM transcript_turns WHERE call_id = ANY($1)",
                       [call_id, "call-does-not-exist"]) == 0
    assert await count(pool, "SELECT count(*) FROM call_record_facts WHERE call_id = $1", call_id) == 0
    assert await count(pool, "SELECT count(*) FROM call_reports WHERE call_id = $1", call_id) == 0
