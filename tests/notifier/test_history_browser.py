"""The history page in real headless Chromium: search finds the incident, its audit trail and
a call's end-of-call report show, data is text (never markup). Screenshots in artifacts/."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from emulators.gemini import GeminiEmulator
from fixline_proto.events import CallEnded, CallOutcome
from services.tools.records import facts, summary
from services.tools.records.report import Reporter
from tests.support.services import settings_for

from .history_rows import story
from .support import ADMIN_TOKEN, create_stream, notifier
from .test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS

HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


async def report_the_guest_call(pool, call_id: str, property_id: str) -> None:
    """The guest call's report made by the real records code, the model being the Gemini emulator."""
    async with pool.acquire() as conn:
        await facts.store_outcome(conn, CallOutcome(
            property_id=property_id, call_id=call_id, outcome="caller_hangup", duration_s=118.4, barge_ins=1,
            input_audio_tokens=2950, input_text_tokens=850, output_audio_tokens=2100))
        await facts.store_ended(conn, CallEnded(property_id=property_id, call_id=call_id, reason="completed",
                                                duration_s=121.0))
        for tool in ("search_maintenance", "create_incident"):
            await facts.record_tool_use(conn, call_id, tool, "ok")
    async with GeminiEmulator() as gem:
        gem.script_generate("Transcript", json={
            "summary": "A guest at Pier Street Loft reported water dripping under the kitchen sink. The agent had "
                       "them close the shut-off valve and opened a high-severity plumbing incident.",
            "follow_ups": ["Send a plumber to fix the sink drain.", "Check the cabinet floor for water damage."]})
        settings = settings_for("tools", gemini_api_key=gem.api_key, gemini_base_url=gem.base_url,
                                gemini_ca_file=gem.ca_file, gemini_api_version="v1beta")
        report = await Reporter(pool, settings, summary.make_client(settings)).report(call_id)
    assert report is not None and report.source == "gemini"


@pytest.fixture
async def pier_property(pool) -> str:
    property_id = f"pw-{uuid.uuid4().hex[:8]}"
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO properties (id, name, address, timezone) VALUES ($1, $2, $3, $4)",
                           property_id, "Pier Street Loft", "7 Pier St, Brooklyn NY", "America/New_York")
    return property_id


async def test_search_audit_trail_and_call_report_in_the_browser(nc, pool, pier_property, repo_root):
    artifacts = Path(repo_root) / "artifacts"
    artifacts.mkdir(exist_ok=True)
    s = await story(pool, pier_property, guest_report=False)
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO transcript_turns (call_id, turn, role, text) VALUES ($1, 2, 'caller', $2)",
                           s.guest_call, HOSTILE)
    await report_the_guest_call(pool, s.guest_call, pier_property)
    stream = await create_stream(nc)
    async with notifier(stream) as svc, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = await browser.new_page(viewport={"width": 1366, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        await page.goto(f"{svc.url}/login?token={ADMIN_TOKEN}")
        await page.goto(f"{svc.url}/history?q=Leak+under+the+sink&property={pier_property}")
        row = page.locator(f'[data-incident="{s.incident_id}"]')
        await row.wait_for(timeout=10_000)
        assert "Pier Street Loft" in await row.inner_text()
        assert await page.locator("#total").inner_text() == "1 match"
        await row.click()
        await page.locator(".audit li").first.wait_for(timeout=10_000)
        kinds = await page.locator(".audit li").evaluate_all("items => items.map(i => i.dataset.kind)")
        assert {"incident.created", "quote", "decision", "booking", "door_code.released"} <= set(kinds)
        when = await page.locator(".audit .when").first.inner_text()
        assert " EST" in when or " EDT" in when or "AM" in when or "PM" in when, when
        await page.screenshot(path=str(artifacts / "history-search.png"), full_page=True)

        await page.locator(f'#detail [data-call="{s.guest_call}"]').click()
        card = page.locator(".report")
        await card.wait_for(timeout=10_000)
        text = await card.inner_text()
        assert "water dripping under the kitchen sink" in text and "incident opened" in text.lower()
        assert "create_incident" in text and "Send a plumber" in text
        assert HOSTILE in await page.locator(".transcript").inner_text(), "markup is shown as text"
        assert await page.evaluate("window.__pwned") is None
        assert await page.locator("#detail img, #detail script").count() == 0
        await page.screenshot(path=str(artifacts / "history-report.png"), full_page=True)
        await browser.close()
    assert errors == []
