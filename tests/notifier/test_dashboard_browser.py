"""The dashboard in real headless Chromium: an incident created through the real tools
service over NATS appears live on the page, with times in the property's time zone.
Screenshots land in artifacts/ (laptop and phone widths)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from playwright.async_api import async_playwright

from fixline_proto import encode, subjects
from fixline_proto import events as ev
from fixline_proto.codec import TOOL_RESULT_DECODER
from fixline_proto.commands import ServiceHeartbeat
from fixline_proto.tools import IncidentRef, ToolResult
from services.notifier.app import NotifierService
from services.tools.app import ToolsService
from tests.support.services import running, settings_for
from tests.tools.call_rows import insert_call

from .support import ADMIN_TOKEN, create_stream, notifier

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOKEN = "browser-test-token-" + uuid.uuid4().hex[:8]


async def _tool(nc, tool: str, **args: object) -> ToolResult:
    reply = await nc.request(subjects.tool(tool), msgspec.json.encode(args), timeout=10)
    return TOOL_RESULT_DECODER.decode(reply.data)


async def _workflow_tool(nc, tool: str, **args: object) -> ToolResult:
    reply = await nc.request(subjects.workflow_tool(tool), msgspec.json.encode(args), timeout=10)
    return TOOL_RESULT_DECODER.decode(reply.data)


async def _publish(nc, event: ev.Event) -> None:
    await nc.jetstream().publish(subjects.event(event.property_id, event.__struct_config__.tag), encode(event))


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
    """Outreach's status moves through the real workflow tools; quotes and the decision as the
    tools service reports them (vendor and landlord calls are not under test here)."""
    await _workflow_tool(nc, "update_incident_status", incident_id=incident_id, status="awaiting_quotes")
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=14, minute=0, second=0, microsecond=0)
    for n, (vendor, price, earliest) in enumerate((("v-plumb-1", 185.0, start),
                                                   ("v-plumb-2", 240.0, start - timedelta(hours=3)))):
        await _publish(nc, ev.QuoteReceived(property_id=property_id, incident_id=incident_id, quote_id=f"q-{n}",
                                            vendor_id=vendor, price=price, earliest_start=earliest))
    await _publish(nc, ev.OutreachProgress(property_id=property_id, incident_id=incident_id, stage="recommended",
                                           detail="Tideline Plumbing: lowest price, available tomorrow afternoon"))
    await _workflow_tool(nc, "update_incident_status", incident_id=incident_id, status="awaiting_approval")
    await _publish(nc, ev.DecisionMade(property_id=property_id, incident_id=incident_id, decision_id="d-1",
                                       approved=True, vendor_id="v-plumb-1", notes="Go ahead, keep it under $250"))


async def _screenshots(page, artifacts: Path) -> None:
    await page.wait_for_timeout(300)  # let the last animation frame paint
    await page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.wait_for_timeout(200)
    await page.screenshot(path=str(artifacts / "dashboard-phone.png"), full_page=True)


async def test_incident_created_through_tools_appears_live_on_the_dashboard(nc, pool, harbor_property, repo_root):
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
        guest_call = await insert_call(pool, property_id=harbor_property, phone="+15550102233")
        ref = await _tool(nc, "create_incident", property_id=harbor_property, category="plumbing",
                          severity="high", description=description, call_id=guest_call)
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


# --- hostile events ---------------------------------------------------------------------

def _payloads(field: str) -> str:
    """Script in three shapes, tagged with the field it sits in (so each is found literally)."""
    shapes = ('<img src=x onerror="window.__pwned=1">', "<script>window.__pwned=1</script>",
              '"><svg onload="window.__pwned=1">')
    return f"{field}:{shapes[sum(map(ord, field)) % 3]}"


# A property id is a subject token: no dots or spaces, but markup all the same.
HOSTILE_PROPERTY = "<img/src=x/onerror=__pwned=1>"


def _hostile_events(property_id: str) -> list[ev.Event]:
    p, now = property_id, datetime.now(UTC)
    incident_id, call_id, ended_id = "__proto__", _payloads("call_id"), _payloads("ended_call_id")
    return [
        ev.IncidentCreated(property_id=p, incident_id=incident_id, category="plumbing", severity="high",
                           description=_payloads("description"), caller_phone=_payloads("caller_phone"),
                           call_id=call_id),
        ev.QuoteReceived(property_id=p, incident_id=incident_id, quote_id=_payloads("quote_id"),
                         vendor_id=_payloads("quote_vendor"), price=120.0, currency=_payloads("currency")),
        ev.OutreachProgress(property_id=p, incident_id=incident_id, stage="recommended",
                            detail=_payloads("detail"), vendor_id=_payloads("step_vendor")),
        ev.DecisionMade(property_id=p, incident_id=incident_id, decision_id="d1", approved=True,
                        vendor_id=_payloads("decision_vendor"), notes=_payloads("notes")),
        ev.RepairScheduled(property_id=p, incident_id=incident_id, booking_id="b1",
                           vendor_id=_payloads("booking_vendor"), calendar_event_id=_payloads("calendar"),
                           start=now + timedelta(days=1), end=now + timedelta(days=1, hours=2)),
        ev.CallStarted(property_id=p, call_id=call_id, call_type="guest", direction="inbound",
                       from_number=_payloads("from_number"), to_number="+15550100009"),
        ev.CallStatusChanged(property_id=p, call_id=call_id, status=_payloads("call_status")),
        ev.TranscriptTurn(property_id=p, call_id=call_id, role="caller", text=_payloads("turn_text"), turn=0),
        ev.CallStarted(property_id=p, call_id=ended_id, call_type="vendor", direction="outbound",
                       from_number="+15550100009", to_number=_payloads("to_number")),
        ev.CallEnded(property_id=p, call_id=ended_id, reason=_payloads("reason")),
    ]


# What the page shows of them, as DOM text (CSS may capitalize what is on screen; the page
# itself shows call status with "_" and "-" as spaces).
SHOWN = ("description", "caller_phone", "quote_vendor", "currency", "detail", "step_vendor", "decision_vendor",
         "notes", "booking_vendor", "from_number", "to_number", "turn_text", "heartbeat_service",
         "heartbeat_instance")
NOT_RUN = """() => ({pwned: window.__pwned, polluted: ({}).description ?? ({}).status ?? null,
  injected: document.body.querySelectorAll("img, script, svg, iframe, object, embed").length})"""


async def _assert_all_literal(page) -> None:
    text = await page.evaluate("document.body.textContent")
    for field in SHOWN:
        assert _payloads(field) in text, field
    assert _payloads("call_status").replace("_", " ").replace("-", " ") in text
    assert HOSTILE_PROPERTY in await page.locator(".incident-meta").inner_text()
    assert _payloads("turn_text") in await page.locator(".bubble").inner_text()   # on screen, as typed
    assert await page.evaluate(NOT_RUN) == {"pwned": None, "polluted": None, "injected": 0}


async def test_forged_events_with_script_in_every_shown_field_render_as_text(nc, repo_root):
    stream = await create_stream(nc)
    async with notifier(stream) as svc, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = await browser.new_page(viewport={"width": 1366, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        response = await page.goto(f"{svc.url}/login?token={ADMIN_TOKEN}")   # the sign-in link, in a browser
        assert page.url == f"{svc.url}/" and "script-src 'self'" in response.headers["content-security-policy"]
        await page.wait_for_selector("#connection.conn-live", timeout=10_000)

        for event in _hostile_events(HOSTILE_PROPERTY):           # live, through the page's reducer
            await stream.publish(event)
        beat = ServiceHeartbeat(service=_payloads("heartbeat_service"), instance=_payloads("heartbeat_instance"),
                                state="ready", ts=time.time())
        await nc.publish(subjects.SERVICE_HEARTBEAT, encode(beat))
        await page.locator(".callout-book").wait_for(timeout=10_000)
        await page.get_by_text(_payloads("heartbeat_service")).wait_for(timeout=10_000)
        await page.locator("#recent-calls .recent-row").wait_for(state="attached", timeout=10_000)
        await _assert_all_literal(page)

        await page.reload()                                        # the same data from the snapshot
        await page.locator(".callout-book").wait_for(timeout=10_000)
        await page.get_by_text(_payloads("heartbeat_service")).wait_for(timeout=10_000)
        await _assert_all_literal(page)
        (Path(repo_root) / "artifacts").mkdir(exist_ok=True)
        await page.screenshot(path=str(Path(repo_root) / "artifacts" / "dashboard-hostile.png"), full_page=True)
        await browser.close()
        assert errors == []


async def test_the_csp_stops_inline_script_even_if_markup_got_in(nc):
    """Defence in depth: should the page ever insert markup, the browser refuses to run it."""
    stream = await create_stream(nc)
    async with notifier(stream) as svc, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = await browser.new_page()
        await page.goto(f"{svc.url}/login?token={ADMIN_TOKEN}")
        await page.wait_for_selector("#connection.conn-live", timeout=10_000)
        violations = await page.evaluate("""() => new Promise((resolve) => {
            const seen = [];
            document.addEventListener("securitypolicyviolation", (e) => seen.push(e.violatedDirective));
            const box = document.createElement("div");
            box.innerHTML = '<img src="/static/favicon.svg" onload="window.__pwned=1">'
                          + '<a id="js" href="javascript:window.__pwned=1">x</a>';
            document.body.append(box);
            const script = document.createElement("script");
            script.textContent = "window.__pwned = 1";
            document.body.append(script);
            document.getElementById("js").click();
            setTimeout(() => resolve(seen), 500);
        })""")
        assert await page.evaluate("window.__pwned") is None
        assert violations and all(v.startswith("script-src") for v in violations), violations
        framed = await browser.new_page()                          # frame-ancestors 'none'
        await framed.set_content(f'<iframe src="{svc.url}/login"></iframe>')
        await framed.wait_for_timeout(500)
        (frame,) = framed.main_frame.child_frames
        assert frame.url == "chrome-error://chromewebdata/"           # blocked, not the sign-in form
        assert await frame.locator("#token").count() == 0
        await browser.close()


async def test_sign_out_works_and_a_cross_site_form_cannot_sign_in_or_out(nc):
    """The page's own form POST passes the Origin check (Referrer-Policy must not make it
    ``Origin: null``); an attacker's page posting to /logout and /login gets 403."""
    stream = await create_stream(nc)
    async with notifier(stream) as svc, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(f"{svc.url}/login?token={ADMIN_TOKEN}")
        await page.wait_for_selector("#connection.conn-live", timeout=10_000)
        cookies_before = await context.cookies()

        attacker = await context.new_page()
        forms = {"logout": "", "login": f'<input name="token" value="{ADMIN_TOKEN}">'}
        for action, fields in forms.items():
            await attacker.route("https://evil.example/*", lambda route, f=fields, a=action: route.fulfill(
                content_type="text/html",
                body=f'<form method="post" action="{svc.url}/{a}">{f}</form>'
                     "<script>document.forms[0].submit()</script>"))
            async with attacker.expect_response(f"{svc.url}/{action}") as answer:
                await attacker.goto(f"https://evil.example/{action}")
            assert (await answer.value).status == 403, action
            await attacker.unroute("https://evil.example/*")
        assert await context.cookies() == cookies_before            # nothing set, nothing cleared
        async with page.expect_response(f"{svc.url}/api/snapshot") as snapshot:
            await page.evaluate("fetch('/api/snapshot')")
        assert (await snapshot.value).status == 200                  # still signed in

        await page.get_by_role("button", name="Sign out").click()   # our own form: allowed
        await page.wait_for_url(f"{svc.url}/login")
        assert [c for c in await context.cookies() if c["name"] == "fixline_session"] == []
        await browser.close()
