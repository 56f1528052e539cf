"""The Twilio emulator's carrier side against a signature-checking agent app."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest

from emulators.audio import pcm16_to_ulaw, rms_dbfs, speech_like
from emulators.twilio import TwilioEmulator

from .agent_app import AgentApp, StreamCtx

TOKEN = "test-auth-token"


def connect_twiml(ws_url: str, status_cb: str = "", tail: str = "") -> str:
    cb = f' statusCallback="{status_cb}"' if status_cb else ""
    return ('<?xml version="1.0" encoding="UTF-8"?><Response><Connect>'
            f'<Stream url="{ws_url}"{cb}><Parameter name="persona" value="guest" />'
            f'<Parameter name="tenant" value="acme &amp; co" /></Stream></Connect>{tail}</Response>')


@pytest.fixture
async def twilio():
    async with TwilioEmulator(auth_token=TOKEN, verb_time_scale=0.05) as emu:
        yield emu
        assert emu.errors == []


async def test_inbound_call_stream_protocol_and_recording(twilio):
    async def agent(ctx: StreamCtx):
        await ctx.next_event("start")
        await ctx.send_audio("Hello, this is Fixline.")
        await ctx.send("mark", mark={"name": "greeting"})

    async with AgentApp(TOKEN, on_stream=agent) as app:
        app.twiml = connect_twiml(app.ws_url)
        call = await twilio.place_inbound_call(
            to="+15550001111", from_="+15557654321", voice_url=app.url + "/voice",
            callee_script=[{"say": "My sink is leaking."}, {"dtmf": "1#", "delay": 0.1},
                           {"hangup": True, "delay": 0.1}])
        await call.wait(15)
    hook = app.webhooks[0]
    assert (hook["CallStatus"], hook["Direction"], hook["From"]) == ("ringing", "inbound", "+15557654321")
    msgs = app.streams[0].messages
    assert msgs[0] == {"event": "connected", "protocol": "Call", "version": "1.0.0"}
    start = msgs[1]["start"]
    assert start["customParameters"] == {"persona": "guest", "tenant": "acme & co"}
    assert start["callSid"] == call.sid and start["accountSid"] == twilio.account_sid
    assert start["mediaFormat"] == {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
    media = [m for m in msgs if m["event"] == "media"]
    assert [m["media"]["chunk"] for m in media[:3]] == ["1", "2", "3"]
    assert [m["media"]["timestamp"] for m in media[:3]] == ["0", "20", "40"]
    assert all(len(m["media"]["payload"]) == 216 for m in media)
    assert [m["sequenceNumber"] for m in msgs[1:4]] == ["1", "2", "3"]
    assert [m["dtmf"]["digit"] for m in msgs if m["event"] == "dtmf"] == ["1", "#"]
    assert msgs[-1]["event"] == "stop" and msgs[-1]["stop"]["callSid"] == call.sid
    assert call.marks_echoed == ["greeting"] and call.status == "completed"
    greeting = pcm16_to_ulaw(speech_like("Hello, this is Fixline.", 8000))
    assert call.played_ulaw.startswith(b"\xff" * 0) and greeting in call.played_ulaw
    # the caller's utterance went out in real time after the agent's greeting finished
    said = call.events("callee_say")[0].t
    mark = call.events("mark_echoed")[0].t
    assert said >= mark + 0.5
    assert rms_dbfs(call.received_pcm) > -40


async def test_media_paced_in_real_time(twilio):
    async with AgentApp(TOKEN) as app:
        app.twiml = connect_twiml(app.ws_url)
        call = await twilio.place_inbound_call(to="+15550001111", from_="+15557654321",
                                               voice_url=app.url + "/voice",
                                               callee_script=[{"hangup": True, "at": 1.0}])
        await call.wait(10)
    media = [m for m in app.streams[0].messages if m["event"] == "media"]
    opened, stopped = call.events("stream_open")[0].t, call.events("stop")[0].t
    assert 45 <= len(media) <= 52 and 0.95 <= stopped - opened <= 1.3


async def test_clear_drops_audio_and_echoes_pending_marks(twilio):
    async def agent(ctx: StreamCtx):
        await ctx.next_event("start")
        await ctx.send_audio("One two three four five six seven eight nine ten")
        await ctx.send("mark", mark={"name": "long"})
        await ctx.send_audio("more")
        await ctx.send("mark", mark={"name": "tail"})
        await asyncio.sleep(0.5)
        await ctx.send("clear")

    async with AgentApp(TOKEN, on_stream=agent) as app:
        app.twiml = connect_twiml(app.ws_url)
        call = await twilio.place_inbound_call(to="+15550001111", from_="+15557654321",
                                               voice_url=app.url + "/voice",
                                               callee_script=[{"hangup": True, "at": 1.2}])
        await call.wait(10)
    assert call.marks_echoed == ["long", "tail"]
    clear = call.clears[0]
    assert clear["marks"] == ["long", "tail"] and clear["dropped_bytes"] > 8000
    echoes = [m for m in app.streams[0].messages if m["event"] == "mark"]
    assert [m["mark"]["name"] for m in echoes] == ["long", "tail"]
    played = len(call.received_audio) - clear["dropped_bytes"]
    assert 0.4 * 8000 <= played <= 0.75 * 8000  # ~0.5 s played before the clear


async def test_barge_in_callee_speaks_over_agent(twilio):
    async def agent(ctx: StreamCtx):
        await ctx.next_event("start")
        await ctx.send_audio("This is a long announcement about the house rules and checkout")

    async with AgentApp(TOKEN, on_stream=agent) as app:
        app.twiml = connect_twiml(app.ws_url)
        call = await twilio.place_inbound_call(
            to="+15550001111", from_="+15557654321", voice_url=app.url + "/voice",
            callee_script=[{"say": "Wait", "barge_in": 0.5}, {"hangup": True, "delay": 0.1}])
        await call.wait(10)
    say = call.events("callee_say")[0].t
    first_audio = call.events("stream_open")[0].t
    assert 0.5 <= say - first_audio <= 0.9  # while the agent audio was still playing
    inbound = b"".join(__import__("base64").b64decode(m["media"]["payload"])
                       for m in app.streams[0].messages if m["event"] == "media")
    assert pcm16_to_ulaw(speech_like("Wait", 8000))[:800] in inbound


async def test_protocol_error_is_recorded_and_stream_ends(twilio):
    async def agent(ctx: StreamCtx):
        await ctx.next_event("start")
        await ctx.send("dtmf", dtmf={"digit": "1"})  # server -> Twilio dtmf is not allowed

    async with AgentApp(TOKEN, on_stream=agent) as app:
        app.twiml = connect_twiml(app.ws_url, status_cb=app.url + "/stream-status",
                                  tail="<Say>Goodbye</Say><Hangup/>")
        call = await twilio.place_inbound_call(to="+15550001111", from_="+15557654321",
                                               voice_url=app.url + "/voice")
        await call.wait(10)
        await asyncio.sleep(0.2)
    assert call.stream.protocol_errors[0]["code"] == 31924
    assert app.streams[0].messages[-1]["event"] == "stop"
    assert [e.kind for e in call.timeline if e.kind in ("say", "hangup")] == ["say", "hangup"]
    events = [c["StreamEvent"] for c in app.callbacks if c["path"] == "/stream-status"]
    assert events == ["stream-started", "stream-error"] and all(c["valid"] for c in app.callbacks)


async def test_server_close_continues_twiml_then_redirect_and_dial(twilio):
    async def agent(ctx: StreamCtx):
        await ctx.next_event("start")
        await ctx.ws.close()  # the bridge hands the call back to TwiML

    async with AgentApp(TOKEN, on_stream=agent) as app:
        documents = [connect_twiml(app.ws_url, tail=f"<Redirect>{app.url}/voice2</Redirect>"),
                     '<Response><Dial callerId="+15550001111"><Number>+15559998888</Number></Dial></Response>']
        app.twiml = lambda: documents.pop(0)
        call = await twilio.place_inbound_call(to="+15550001111", from_="+15557654321",
                                               voice_url=app.url + "/voice")
        await call.wait(10)
    assert [w["path"] for w in app.webhooks] == ["/voice", "/voice2"]
    assert call.events("dial")[0].detail["numbers"] == ["+15559998888"]
    assert not any(m["event"] == "stop" for m in app.streams[0].messages)  # no stop on server close
    assert call.status == "completed"


async def test_webhook_signed_with_wrong_token_is_rejected_by_the_app():
    async with AgentApp(TOKEN) as app, TwilioEmulator(auth_token="not-the-token") as wrong:
        app.twiml = "<Response><Hangup/></Response>"
        call = await wrong.place_inbound_call(to="+15550001111", from_="+15557654321",
                                              voice_url=app.url + "/voice")
        await call.wait(5)
    assert app.rejected == ["voice"] and call.errors[0]["code"] == 11200


async def test_stream_handshake_rejected_without_valid_signature(twilio):
    from twilio.request_validator import RequestValidator
    async with AgentApp(TOKEN) as app:
        app.twiml = connect_twiml(app.ws_url)
        app.media_validator = RequestValidator("some-other-token")
        call = await twilio.place_inbound_call(to="+15550001111", from_="+15557654321",
                                               voice_url=app.url + "/voice")
        await call.wait(10)
    assert app.rejected == ["media"]
    assert call.events("stream_error")[0].detail["code"] == 31920


async def test_silence_frames_are_mulaw_silence(twilio):
    async with AgentApp(TOKEN) as app:
        app.twiml = connect_twiml(app.ws_url)
        call = await twilio.place_inbound_call(to="+15550001111", from_="+15557654321",
                                               voice_url=app.url + "/voice",
                                               callee_script=[{"hangup": True, "at": 0.2}])
        await call.wait(5)
    import base64
    payloads = {base64.b64decode(m["media"]["payload"]) for m in app.streams[0].messages
                if m["event"] == "media"}
    assert payloads == {b"\xff" * 160}
    assert np.all(call.received_pcm == 0)
