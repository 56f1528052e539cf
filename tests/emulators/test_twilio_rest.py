"""The real twilio SDK (sync Client and AsyncTwilioHttpClient) against the REST emulator."""
from __future__ import annotations

import asyncio

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from emulators.twilio import TwilioEmulator

from .agent_app import AgentApp, StreamCtx
from .test_twilio_carrier import TOKEN, connect_twiml, twilio  # noqa: F401, F811 - fixture


async def test_sync_client_create_fetch_hangup_with_status_callbacks(twilio):
    async with AgentApp(TOKEN) as app:
        app.twiml = connect_twiml(app.ws_url)
        client = twilio.client()
        call = await asyncio.to_thread(
            client.calls.create, to="+15550002222", from_="+15550001111", url=app.url + "/voice",
            status_callback=app.url + "/status",
            status_callback_event=["initiated", "ringing", "answered", "completed"])
        assert call.sid.startswith("CA") and call.status == "queued" and call._from == "+15550001111"
        assert call.direction == "outbound-api" and call.date_created.tzinfo is not None
        emu_call = twilio.calls[call.sid]
        await asyncio.wait_for(_until(lambda: emu_call.stream is not None), 5)
        await asyncio.sleep(0.3)
        fetched = await asyncio.to_thread(client.calls(call.sid).fetch)
        assert fetched.status == "in-progress" and fetched.start_time is not None
        done = await asyncio.to_thread(client.calls(call.sid).update, status="completed")
        await emu_call.wait(5)
        await asyncio.sleep(0.2)
    assert done.sid == call.sid and emu_call.status == "completed"
    assert app.webhooks[0]["CallStatus"] == "in-progress"
    assert app.streams[0].messages[-1]["event"] == "stop"
    cbs = sorted((c for c in app.callbacks if c["path"] == "/status"), key=lambda c: int(c["SequenceNumber"]))
    assert [c["CallStatus"] for c in cbs] == ["initiated", "ringing", "in-progress", "completed"]
    assert [c["SequenceNumber"] for c in cbs] == ["0", "1", "2", "3"] and all(c["valid"] for c in cbs)
    assert cbs[-1]["CallbackSource"] == "call-progress-events" and "CallDuration" in cbs[-1]


async def _until(pred) -> None:
    while not pred():
        await asyncio.sleep(0.02)


async def test_async_client_twiml_call_redirect_and_21220(twilio):
    async def agent(ctx: StreamCtx):
        await ctx.next_event("start")

    async with AgentApp(TOKEN, on_stream=agent) as app, AsyncTwilioHttpClient(timeout=5) as http:
        client = twilio.client(http_client=http)
        call = await client.calls.create_async(to="+15550002222", from_="+15550001111",
                                               twiml=connect_twiml(app.ws_url))
        emu_call = twilio.calls[call.sid]
        await asyncio.wait_for(_until(lambda: emu_call.stream is not None), 5)
        await asyncio.sleep(0.2)
        await client.calls(call.sid).update_async(twiml="<Response><Say>Transferring you now.</Say>"
                                                        "<Hangup/></Response>")
        await emu_call.wait(5)
        with pytest.raises(TwilioRestException) as exc:
            await client.calls(call.sid).update_async(twiml="<Response><Hangup/></Response>")
        fetched = await client.calls(call.sid).fetch_async()
    assert exc.value.status == 400 and exc.value.code == 21220
    assert app.streams[0].messages[-1]["event"] == "stop"  # the redirect stopped the stream
    assert [e.kind for e in emu_call.timeline if e.kind in ("stop", "redirect", "say", "hangup")] == \
        ["stop", "redirect", "say", "hangup"]
    assert fetched.status == "completed" and fetched.duration is not None


async def test_machine_detection_sync_and_async(twilio):
    async with AgentApp(TOKEN) as app:
        app.twiml = "<Response><Hangup/></Response>"
        twilio.set_callee("+15550003333", {"answered_by": "machine_end_beep"})
        client = twilio.client()
        sync_call = await asyncio.to_thread(client.calls.create, to="+15550003333", from_="+15550001111",
                                            url=app.url + "/voice", machine_detection="DetectMessageEnd")
        await twilio.calls[sync_call.sid].wait(5)
        async_call = await asyncio.to_thread(
            client.calls.create, to="+15550002222", from_="+15550001111", url=app.url + "/voice",
            machine_detection="Enable", async_amd="true", async_amd_status_callback=app.url + "/amd")
        await twilio.calls[async_call.sid].wait(5)
        await asyncio.sleep(0.2)
        fetched = await asyncio.to_thread(client.calls(sync_call.sid).fetch)
    assert app.webhooks[0]["AnsweredBy"] == "machine_end_beep" and fetched.answered_by == "machine_end_beep"
    assert "AnsweredBy" not in app.webhooks[1]
    amd = [c for c in app.callbacks if c["path"] == "/amd"]
    assert amd[0]["AnsweredBy"] == "human" and amd[0]["CallSid"] == async_call.sid and amd[0]["valid"]


@pytest.mark.parametrize("kwargs,code", [
    ({"to": "", "from_": "+15550001111", "url": "http://x/"}, 21201),
    ({"to": "+15550002222", "from_": "+15550001111"}, 21205),
    ({"to": "+15550002222", "from_": "+15550001111", "url": "ftp://x"}, 21205),
    ({"to": "+15550002222", "from_": "+15559990000", "url": "http://x/"}, 21210),
    ({"to": "12", "from_": "+15550001111", "url": "http://x/"}, 21211),
])
async def test_create_validation_errors(kwargs, code):
    async with TwilioEmulator(numbers=("+15550001111",)) as emu:
        client = emu.client()
        with pytest.raises(TwilioRestException) as exc:
            await asyncio.to_thread(client.calls.create, **kwargs)
    assert exc.value.status == 400 and exc.value.code == code


async def test_auth_not_found_and_rate_limit(twilio):
    bad = Client(twilio.account_sid, "wrong", environment={})
    bad.api.base_url = twilio.base_url
    with pytest.raises(TwilioRestException) as auth:
        await asyncio.to_thread(bad.calls.create, to="+15550002222", from_="+15550001111", twiml="<Response/>")
    assert auth.value.status == 401 and auth.value.code == 20003
    client = twilio.client()
    with pytest.raises(TwilioRestException) as missing:
        await asyncio.to_thread(client.calls("CA" + "f" * 32).fetch)
    assert missing.value.status == 404 and missing.value.code == 20404
    twilio.fail_next(429, 20429)
    with pytest.raises(TwilioRestException) as limited:
        await asyncio.to_thread(client.calls.create, to="+15550002222", from_="+15550001111",
                                twiml="<Response/>")
    assert limited.value.status == 429 and limited.value.code == 20429
    assert not twilio.calls  # a 429 is not processed
    assert await asyncio.to_thread(client.calls.list) == []


async def test_base_url_composition_is_domain_plus_version_path(twilio):
    """``Domain.absolute_url`` = base_url.strip('/') + '/2010-04-01/Accounts/{AC}/Calls.json'."""
    client = twilio.client()
    client.api.base_url = twilio.base_url + "/"
    await asyncio.to_thread(client.calls.create, to="+15550002222", from_="+15550001111",
                            twiml="<Response><Hangup/></Response>")
    method, path, form = twilio.rest_requests[-1]
    assert path == f"/2010-04-01/Accounts/{twilio.account_sid}/Calls.json" and form["Twiml"]
