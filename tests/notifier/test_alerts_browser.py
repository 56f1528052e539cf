"""The emergency alert on the real page (headless Chromium): the banner is there live and after
a reload, its text is literal, and "Mark handled" (the page's own same-origin POST with the
session cookie) takes it away for good."""

from __future__ import annotations

from playwright.async_api import async_playwright

from fixline_proto import events as ev

from .support import ADMIN_TOKEN, create_stream, notifier
from .test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS

MARKUP = '<img src=x onerror="window.__pwned=1">'


async def test_the_alert_banner_stays_until_marked_handled(nc):
    stream = await create_stream(nc)
    await stream.publish(ev.IncidentCreated(property_id="p1", incident_id="inc-gas", category="hvac",
                                            severity="emergency", description="Smell of gas",
                                            status="awaiting_quotes", urgency="emergency"))
    async with notifier(stream) as svc, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = await browser.new_page(viewport={"width": 1366, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{svc.url}/login?token={ADMIN_TOKEN}")
        await page.wait_for_selector("#connection.conn-live", timeout=10_000)
        await stream.publish(ev.IncidentAlertRaised(property_id="p1", incident_id="inc-gas",
                                                    alert_id="alert:inc-gas:emergency",
                                                    detail=f"EMERGENCY (hvac): gas {MARKUP}"))
        banner = page.locator(".alert-banner")
        await banner.wait_for(timeout=10_000)                     # live
        assert MARKUP in await banner.inner_text()
        await page.reload()
        await banner.wait_for(timeout=10_000)                     # from the snapshot
        await page.get_by_role("button", name="Mark handled").click()
        await banner.wait_for(state="detached", timeout=10_000)
        await page.reload()
        await page.locator("[data-incident='inc-gas']").first.wait_for(timeout=10_000)
        assert await banner.count() == 0                          # handled stays handled
        assert await page.evaluate("window.__pwned") is None
        await browser.close()
    assert errors == []
