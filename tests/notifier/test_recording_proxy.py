"""A call's recording played through the notifier: fetched from Twilio (the emulator, a real
recording made through the SDK) with the account credentials, streamed, scoped by dashboard
token exactly like the history API; the Twilio URL never reaches the client."""

from __future__ import annotations

import asyncio
import io
import uuid
import wave

import aiohttp
import pytest
from twilio.http.async_http_client import AsyncTwilioHttpClient

from emulators.twilio import TwilioEmulator
from tests.emulators.agent_app import AgentApp, StreamCtx
from tests.emulators.test_twilio_carrier import connect_twiml

from .history_rows import story
from .support import ADMIN_TOKEN, bearer, create_stream, notifier

ACCOUNT_SID = "AC" + "2" * 32
AUTH_TOKEN = "recording-proxy-auth-token"
SCOPED_P2 = "recording-token-for-p2-only"


async def _speak(ctx: StreamCtx) -> None:
    await ctx.next_event("start")
    await ctx.send_audio("Hello, the agent speaking.")
    await asyncio.sleep(5)


async def _recorded_call(emulator: TwilioEmulator) -> str:
    """A real recording at the emulator: call, start recording through the SDK, hang up."""
    async with AgentApp(AUTH_TOKEN, on_stream=_speak) as app, AsyncTwilioHttpClient(timeout=5) as http:
        client = emulator.client(http_client=http)
        call = await client.calls.create_async(to="+15550002222", from_="+15550001111",
                                               twiml=connect_twiml(app.ws_url))
        emu_call = emulator.calls[call.sid]
        while not (emu_call.status == "in-progress" and emu_call.stream is not None):
            await asyncio.sleep(0.02)
        rec = await client.calls(call.sid).recordings.create_async(recording_channels="dual")
        await asyncio.sleep(0.4)
        await client.calls(call.sid).update_async(status="completed")
        await emu_call.wait(5)
    return rec.sid


@pytest.fixture
async def twilio():
    emulator = await TwilioEmulator(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
    yield emulator
    await emulator.stop()


async def _get(http: aiohttp.ClientSession, url: str, token: str | None = ADMIN_TOKEN):
    async with http.get(url, headers=bearer(token) if token else {}) as resp:
        return resp.status, resp.headers.copy(), await resp.read()


async def test_recording_is_streamed_to_its_property_only(nc, pool, twilio):
    sid = await _recorded_call(twilio)
    mine = await story(pool, "p1")
    await pool.execute("INSERT INTO call_recordings (sid, call_id, status, duration_s, channels, media_url)"
                       " VALUES ($1, $2, 'completed', 3, 2, $3)", sid, mine.guest_call,
                       f"{twilio.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{sid}")
    stream = await create_stream(nc)
    async with notifier(stream, dashboard_tokens=f"{SCOPED_P2}=p2", twilio_account_sid=ACCOUNT_SID,
                        twilio_auth_token=AUTH_TOKEN, twilio_api_base_url=twilio.base_url) as svc, \
            aiohttp.ClientSession() as http:
        url = f"{svc.url}/api/history/calls/{mine.guest_call}/recording"
        status, headers, body = await _get(http, url)
        _, _, detail = await _get(http, f"{svc.url}/api/history/calls/{mine.guest_call}")
        foreign = await _get(http, url, SCOPED_P2)
        unknown = await _get(http, f"{svc.url}/api/history/calls/{uuid.uuid4().hex}/recording", SCOPED_P2)
        anonymous = await _get(http, url, None)
        await pool.execute("UPDATE call_recordings SET deleted_at = now() WHERE sid = $1", sid)
        after_retention = await _get(http, url)
    assert status == 200 and headers["Content-Type"] == "audio/wav" and headers["Cache-Control"] == "no-store"
    with wave.open(io.BytesIO(body)) as w:
        assert w.getnchannels() == 2 and w.getnframes() > 0
    assert b"twilio" not in detail.lower() and ACCOUNT_SID.encode() not in detail  # no Twilio URL leaks
    assert b'"url":"/api/history/calls/' in detail
    assert foreign[0] == 404 and foreign[2] == unknown[2] and foreign[0] == unknown[0]
    assert anonymous[0] == 401
    assert after_retention[0] == 404


async def test_the_history_page_plays_the_recording_through_the_proxy(nc, pool, twilio):
    from playwright.async_api import async_playwright

    from .test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS

    sid = await _recorded_call(twilio)
    s = await story(pool, "p1")
    await pool.execute("INSERT INTO call_recordings (sid, call_id, status, duration_s, channels)"
                       " VALUES ($1, $2, 'completed', 3, 2)", sid, s.guest_call)
    stream = await create_stream(nc)
    async with notifier(stream, twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN,
                        twilio_api_base_url=twilio.base_url) as svc, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = await browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{svc.url}/login?token={ADMIN_TOKEN}")
        await page.goto(f"{svc.url}/history?q={s.marker}&kind=calls")
        await page.locator(f'[data-call="{s.guest_call}"]').first.click()
        audio = page.locator(".recording audio")
        await audio.wait_for(timeout=10_000)
        src = await audio.get_attribute("src")
        fetched = await page.evaluate(
            "async (src) => { const r = await fetch(src); return [r.status, r.headers.get('content-type'),"
            " (await r.arrayBuffer()).byteLength]; }", src)
        duration = await audio.evaluate("a => new Promise((ok) => { a.preload = 'metadata';"
                                        " a.addEventListener('loadedmetadata', () => ok(a.duration), {once: true});"
                                        " a.addEventListener('error', () => ok(-1), {once: true}); a.load(); })")
        await browser.close()
    assert src == f"/api/history/calls/{s.guest_call}/recording"
    assert fetched[0] == 200 and fetched[1] == "audio/wav" and fetched[2] > 44
    assert duration > 0, "Chromium decoded the proxied WAV"
    assert errors == []
