"""The media WebSocket under attack or abuse: forged upgrades and tokens are refused before
anything is opened or stored; malformed frames are skipped, an oversized one closes only
that stream; the process carries on."""

from __future__ import annotations

import asyncio
import base64
import json

import aiohttp
import pytest
from twilio.request_validator import RequestValidator

from services.common import media_token
from services.common.stream_parameters import join_parameter

from .harness import AUTH_TOKEN, MEDIA_SECRET, World, call_id_of, scenario


def stream_url(world: World) -> str:
    return f"ws://127.0.0.1:{world.bridge_port}/twilio/media"


def signature(world: World, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(stream_url(world), {})


def start_message(token: str, call_id: str, call_sid: str = "CAsec") -> str:
    return json.dumps({"event": "start", "sequenceNumber": "1", "streamSid": "MZsec", "start": {
        "accountSid": "ACsec", "streamSid": "MZsec", "callSid": call_sid, "tracks": ["inbound"],
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        "customParameters": {"token": token, "call_id": call_id}}})


def media_message(n: int) -> str:
    return json.dumps({"event": "media", "sequenceNumber": str(n + 1), "streamSid": "MZsec", "media": {
        "track": "inbound", "chunk": str(n), "timestamp": str(n * 20),
        "payload": base64.b64encode(b"\xff" * 160).decode()}})


def fresh_token(call_id: str, call_sid: str = "CAsec", **claims: str) -> str:
    return media_token.issue(MEDIA_SECRET, media_token.MediaClaims(call_id=call_id, call_sid=call_sid,
                                                                   call_type="guest", property_id="p1", **claims))


@pytest.mark.parametrize("sig", ["", "forged-signature", "wrong-token"])
async def test_forged_upgrade_is_refused_with_403_before_anything_happens(world: World, sig):
    header = {"": None, "forged-signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
              "wrong-token": signature(world, "not-the-auth-token")}[sig]
    sessions = len(world.gemini.sessions)
    refused = world.metrics.rejected_upgrades.labels("signature")._value.get()
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
            await http.ws_connect(stream_url(world), headers={"X-Twilio-Signature": header} if header else {})
    assert exc.value.status == 403
    assert world.metrics.rejected_upgrades.labels("signature")._value.get() == refused + 1
    assert len(world.gemini.sessions) == sessions and not world.bridge.service.server.calls


async def test_forged_or_replayed_tokens_close_the_stream_and_store_nothing(world: World):
    # a real call first, to get a token that has been used
    call = await world.call(scenario({"say": "Hi."}), {"steps": [], "max_duration_s": 2}, timeout=15)
    used = join_parameter(call.streams[0].custom_parameters, "token")
    forged = fresh_token("c-forged")[:-4] + "AAAA"
    sessions = len(world.gemini.sessions)
    refused = world.metrics.rejected_upgrades.labels("token")._value.get()
    async with aiohttp.ClientSession() as http:
        for token, call_id, sid in ((used, call_id_of(call), call.sid), (forged, "c-forged", "CAsec"),
                                    ("", "c-none", "CAsec")):
            async with http.ws_connect(stream_url(world), headers={"X-Twilio-Signature": signature(world)}) as ws:
                await ws.send_str(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
                await ws.send_str(start_message(token, call_id, sid))
                msg = await ws.receive(timeout=5)
                assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 1008, (token[:8], msg)
    assert len(world.gemini.sessions) == sessions  # no Gemini session was opened for them
    assert world.metrics.rejected_upgrades.labels("token")._value.get() == refused + 3  # used, forged, missing
    assert await world.events("c-forged") == [] and await world.events("c-none") == []
    outcomes = await world.events(call_id_of(call), "call.outcome")
    assert len(outcomes) == 1  # the replay never became a second call


async def test_malformed_frames_are_skipped_and_an_oversized_one_closes_only_that_stream(world: World):
    world.gemini.queue_scenario(scenario({"listen": {"transcript": "", "timeout_s": 30}}))
    frames_in = world.metrics.frames_in.value
    bad = world.metrics.bad_messages.labels("malformed")._value.get()
    call_id = "c-malformed-1"
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(stream_url(world), headers={"X-Twilio-Signature": signature(world)}) as ws:
            await ws.send_str(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            await ws.send_str(start_message(fresh_token(call_id), call_id))
            for junk in ("not json", '{"event": "media"}', '{"event": "bogus"}', "[1, 2, 3]",
                         '{"event": "media", "media": {"payload": "%%%"}}'):
                await ws.send_str(junk)
            await ws.send_bytes(b"\x00\x01binary")
            for n in range(10):
                await ws.send_str(media_message(n))
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.2)
            assert call_id in world.bridge.service.server.calls, "the stream survived the junk"
            assert world.metrics.frames_in.value - frames_in == 10
            assert world.metrics.bad_messages.labels("malformed")._value.get() - bad == 5
            await ws.send_str('{"event": "media", "pad": "' + "x" * 70_000 + '"}')  # > 64 KiB
            msg = await ws.receive(timeout=5)
            while msg.type not in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                msg = await ws.receive(timeout=5)
            assert msg.type == aiohttp.WSMsgType.CLOSED or msg.data == 1009
    await world.idle()
    ended = await world.events(call_id, "call.outcome")
    assert ended and ended[0].outcome == "protocol_error"
    async with aiohttp.ClientSession() as http:  # the process is unaffected
        async with http.get(f"{world.bridge.url}/readyz") as resp:
            assert resp.status == 200
    call = await world.call(scenario({"say": "Still working."}), {"steps": [], "max_duration_s": 2}, timeout=15)
    assert call.stream.received_audio, "a normal call after the abuse works"


async def test_an_outsized_media_payload_mid_call_is_forwarded_by_the_read_loop_not_the_tap(world: World):
    # 20,000 μ-law bytes in one frame (a lying client; Twilio sends 160): too large for one
    # direct write to Gemini, so the tap declines it and the read loop's path sends it
    world.gemini.queue_scenario(scenario({"listen": {"transcript": "", "timeout_s": 30}}))
    frames_in = world.metrics.frames_in.value
    call_id = "c-outsized-1"
    big = media_message(99).replace(base64.b64encode(b"\xff" * 160).decode(),
                                    base64.b64encode(b"\xff" * 20_000).decode())
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(stream_url(world), headers={"X-Twilio-Signature": signature(world)}) as ws:
            await ws.send_str(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            await ws.send_str(start_message(fresh_token(call_id), call_id))
            for _ in range(500):  # until the Gemini session is live and frames go straight to it
                call = world.bridge.service.server.calls.get(call_id)
                if call is not None and call.link.audio_writer() is not None:
                    break
                await asyncio.sleep(0.01)
            else:
                pytest.fail("the Gemini session never went live")
            taken = call._tap.taken
            await ws.send_str(media_message(0))
            await ws.send_str(big)
            for n in range(1, 6):
                await ws.send_str(media_message(n))
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.2)
            assert call_id in world.bridge.service.server.calls, "the outsized frame ended the stream"
            assert world.metrics.frames_in.value - frames_in == 7
            # never the outsized one; an ordinary frame arriving while the loop sends it queues behind it
            assert 4 <= call._tap.taken - taken <= 6
    await world.idle()
    ended = await world.events(call_id, "call.outcome")
    assert ended and ended[0].outcome == "stream_closed"  # the client closed it, not a bridge error
