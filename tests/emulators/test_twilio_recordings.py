"""The Recordings resource of the Twilio emulator, driven by the real twilio SDK (sync and async)."""
from __future__ import annotations

import asyncio
import io
import wave

import aiohttp
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient

from .agent_app import AgentApp, StreamCtx
from .test_twilio_carrier import TOKEN, connect_twiml, twilio  # noqa: F401, F811 - fixture


async def _until(pred, timeout: float = 5.0) -> None:
    async def wait() -> None:
        while not pred():
            await asyncio.sleep(0.02)
    await asyncio.wait_for(wait(), timeout)


async def _agent(ctx: StreamCtx) -> None:
    await ctx.next_event("start")
    await ctx.send_audio("Hello, this is the agent speaking for the recording.")
    await asyncio.sleep(5)


async def test_async_sdk_create_list_fetch_media_callback_delete(twilio):  # noqa: F811 - the fixture
    async with AgentApp(TOKEN, on_stream=_agent) as app, AsyncTwilioHttpClient(timeout=5) as http:
        client = twilio.client(http_client=http)
        call = await client.calls.create_async(to="+15550002222", from_="+15550001111",
                                               twiml=connect_twiml(app.ws_url))
        emu_call = twilio.calls[call.sid]
        await _until(lambda: emu_call.status == "in-progress" and emu_call.stream is not None)
        rec = await client.calls(call.sid).recordings.create_async(
            recording_channels="dual", recording_status_callback=app.url + "/recording",
            recording_status_callback_event=["in-progress", "completed"])
        assert rec.sid.startswith("RE") and rec.call_sid == call.sid and rec.status == "in-progress"
        assert rec.channels == 2 and rec.source == "StartCallRecordingAPI"
        await asyncio.sleep(0.5)
        await client.calls(call.sid).update_async(status="completed")
        await emu_call.wait(5)
        await _until(lambda: len([c for c in app.callbacks if c["path"] == "/recording"]) == 2)
        listed = await client.calls(call.sid).recordings.list_async()
        fetched = await client.recordings(rec.sid).fetch_async()
        auth = {"Authorization": aiohttp.encode_basic_auth(twilio.account_sid, twilio.auth_token)}
        media_url = f"{twilio.base_url}/2010-04-01/Accounts/{twilio.account_sid}/Recordings/{rec.sid}.wav"
        async with aiohttp.ClientSession() as s:
            async with s.get(media_url, headers=auth) as r:
                media_status, media = r.status, await r.read()
            async with s.get(media_url) as r:
                unauthenticated = r.status
        assert await client.recordings(rec.sid).delete_async() is True
        with pytest.raises(TwilioRestException) as gone:
            await client.recordings(rec.sid).fetch_async()
    assert [r.sid for r in listed] == [rec.sid]
    assert fetched.status == "completed" and fetched.duration is not None and int(fetched.duration) >= 0
    assert media_status == 200 and unauthenticated == 401
    with wave.open(io.BytesIO(media)) as w:
        assert w.getnchannels() == 2 and w.getframerate() == 8000 and w.getnframes() > 0
    callbacks = [c for c in app.callbacks if c["path"] == "/recording"]
    assert all(c["valid"] for c in callbacks)  # signed exactly as Twilio signs
    assert sorted(c["RecordingStatus"] for c in callbacks) == ["completed", "in-progress"]
    done = next(c for c in callbacks if c["RecordingStatus"] == "completed")
    assert done["RecordingSid"] == rec.sid and done["CallSid"] == call.sid and done["RecordingChannels"] == "2"
    assert done["RecordingUrl"].endswith(f"/Recordings/{rec.sid}")
    assert gone.value.status == 404 and twilio.recordings.deleted == [rec.sid]


async def test_sync_sdk_refuses_a_call_not_in_progress(twilio):  # noqa: F811 - the fixture
    async with AgentApp(TOKEN, on_stream=_agent) as app:
        client = twilio.client()
        call = await asyncio.to_thread(client.calls.create, to="+15550002222", from_="+15550001111",
                                       twiml=connect_twiml(app.ws_url))
        emu_call = twilio.calls[call.sid]
        await _until(lambda: emu_call.status == "in-progress")
        rec = await asyncio.to_thread(client.calls(call.sid).recordings.create, recording_channels="dual")
        await asyncio.to_thread(client.calls(call.sid).update, status="completed")
        await emu_call.wait(5)
        with pytest.raises(TwilioRestException) as late:
            await asyncio.to_thread(client.calls(call.sid).recordings.create)
        fetched = await asyncio.to_thread(client.calls(call.sid).recordings(rec.sid).fetch)
        deleted = await asyncio.to_thread(client.calls(call.sid).recordings(rec.sid).delete)
    assert late.value.status == 400 and late.value.code == 21220
    assert fetched.status in ("completed", "absent") and fetched.channels == 2
    assert deleted is True and list(twilio.recordings.recordings) == []
