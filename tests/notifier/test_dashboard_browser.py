"""The dashboard in real headless Chromium: an incident created through the real tools
service over NATS appears live on the page, with times in the property's time zone.
Screenshots land in artifacts/ (laptop and phone widths)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from playwright.async_api import async_playwright

from fixline_proto import encode, subjects
from fixline_proto import events as ev
from fixline_proto.codec import TOOL_RESULT_DECODER
from fixline_proto.tools import IncidentRef, ToolResult
from services.notifier.app import NotifierService
from services.tools.app import ToolsService
from tests.support.services import running, settings_for

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOKEN = "browser-test-token-" + uuid.uuid4().hex[:8]


async def _tool(nc, tool: str, **args: object) -> ToolResult:
    reply = await nc.request(subjects.tool(tool), msgspec.json.encode(args), timeout=10)
    return TOOL_RESULT_DECODER.decode(reply.data)


@pytest.fixture
async def harbor_property(pool) -> str:
    """A property of this test's own (so the page shows only this test's activity), in New York time."""
    property_id = f"pw-{uuid.uuid4().hex[:8]}"
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO properties (id, name, address, timezone) VALUES ($1, $2, $3, $4)",
                           property_id, "Harbor View Suite", "12 Pier St, Brooklyn NY", "America/New_York")
    return property_id


async def _publish_call(nc, property_id: str) -> None:
    """A live guest call as the bridge reports it (the bridge itself is not under test here)."""
    js = nc.jetstream()
    call = ev.CallStarted(property_id=property_id, call_id=f"call-{uuid.uuid4().hex[:8]}", call_type="guest",
                          direction="inbound", from_number="+1 (555) 010-2233", to_number="+15550100009")
    turns = [("caller", "Hi, water is dripping from the ceiling under the upstairs bathroom.", True),
             ("agent", "I'm sorry, that sounds stressful. Is the water near any outlets or lights?", True),
             ("caller", "No, just onto the floor. I put a bucket under it.", True),
             ("agent", "Good thinking. I've opened a plumbing incident and I'm calling plumbers now", False)]
    events = [call] + [ev.TranscriptTurn(property_id=property_id, call_id=call.call_id, role=role, text=text,
                                         turn=n // 2, final=final) for n, (role, text, final) in enumerate(turns)]
    for event in events:
        await js.publish(subjects.event(property_id, event.__struct_config__.tag), encode(event))


async def _outreach(nc, property_id: str, incident_id: str) -> None:
    for status in ("awaiting_quotes",):
        await _tool(nc, "update_incident_status", incident_id=incident_id, status=status)
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=14, minute=0, second=0, microsecond=0)
    await _tool(nc, "record_quote", incident_id=incident_id, vendor_id="v-plumb-1", price=185.0,
                earliest_start=start.isoformat())
    await _tool(nc, "record_quote", incident_id=incident_id, vendor_id="v-plumb-2", price=240.0,
                earliest_start=(start - timedelta(hours=3)).isoformat())
    progress = ev.OutreachProgress(property_id=property_id, incident_id=incident_id, stage="recommended",
                                   detail="Tideline Plumbing: lowest price, available tomorrow afternoon")
    await nc.jetstream().publish(subjects.event(property_id, "outreach.progress"), encode(progress))
    await _tool(nc, "update_incident_status", incident_id=incident_id, status="awaiting_approval")
    await _tool(nc, "record_decision", incident_id=incident_id, approved=True, vendor_id="v-plumb-1",
                notes="Go ahead, keep it under $250")


async def _screenshots(page, artifacts: Path) -> None:
    await page.wait_for_timeout(300)  # let the last animation frame paint
    await page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.wait_for_timeout(200)
    await page.screenshot(path=str(artifacts / "dashboard-phone.png"), full_page=True)


async def test_incident_created_through_tools_appears_live_on_the_dashboard(nc, harbor_property, repo_root):
    artifacts = Path(repo_root) / "artifacts"
    artifacts.mkdir(exist_ok=True)
    async with (running(ToolsService(), settings_for("tools", kb_embed_on_start=False, outbox_poll_interval_s=0.2)),
                running(NotifierService(), settings_for("notifier", dashboard_tokens=f"{TOKEN}={harbor_property}"))
                as svc, async_playwright() as pw):
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = await browser.new_page(viewport={"width": 1366, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

        await page.goto(f"{svc.url}/login?token={TOKEN}")
        assert page.url == f"{svc.url}/"
        await page.wait_for_selector("#connection.conn-live", timeout=10_000)
        await page.wait_for_selector("text=No open incidents")

        description = f"Ceiling leak under the upstairs bathroom ({uuid.uuid4().hex[:6]})"
        ref = await _tool(nc, "create_incident", property_id=harbor_property, category="plumbing",
                          severity="high", description=description, caller_phone="+15550102233")
        assert isinstance(ref, IncidentRef), ref
        card = page.locator(f'[data-incident="{ref.incident_id}"]')
        await card.wait_for(timeout=10_000)
        assert description in await card.inner_text()
        assert "Harbor View Suite" in await card.inner_text()
        meta = await card.locator(".incident-meta").inner_text()
        assert " EST" in meta or " EDT" in meta, meta   # the property's time zone, not the browser's

        await _publish_call(nc, harbor_property)
        await _outreach(nc, harbor_property, ref.incident_id)
        await page.locator(".callout-ok").wait_for(timeout=10_000)
        await page.locator(".bubble.partial").wait_for(timeout=10_000)
        text = (await page.locator("body").inner_text()).lower()
        for expected in ("Tideline Plumbing", "$185.00", "Landlord approved", "Awaiting approval",
                         "Empathetic persona", "I put a bucket under it"):
            assert expected.lower() in text, expected
        assert await page.locator("#kpi-calls").inner_text() == "1"

        await _screenshots(page, artifacts)
        await browser.close()
        assert errors == []
