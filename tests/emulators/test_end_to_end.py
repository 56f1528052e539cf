"""All emulators together with a ~60-line reference bridge (Twilio <-> Gemini Live): the
shape services/bridge will have, and proof that the emulators' timing composes."""
from __future__ import annotations

import asyncio
import base64
import json

import numpy as np
from aiohttp import WSMsgType, web
from google.genai import types

from emulators.audio import pcm16_from_bytes, pcm16_to_ulaw, resample, rms_dbfs, ulaw_to_pcm16
from emulators.gemini import GeminiEmulator
from emulators.twilio import TwilioEmulator

SCENARIO = {"name": "e2e", "timing": {"response_delay_ms": 100, "chunk_ms": 40, "burst_ms": 200, "pace": 1.0},
            "steps": [{"say": "Hello, Fixline here."}, {"listen": "My sink leaks."},
                      {"tool_call": {"name": "create_incident", "args": {"category": "plumbing"}}},
                      {"say": "Logged it."}, {"listen": "Bye."}]}


async def bridge_stream(ws: web.WebSocketResponse, gemini: GeminiEmulator) -> None:
    client = gemini.client("v1beta")
    cfg = types.LiveConnectConfig(response_modalities=["AUDIO"], input_audio_transcription={},
                                  realtime_input_config=types.RealtimeInputConfig(
                                      automatic_activity_detection=types.AutomaticActivityDetection(
                                          silence_duration_ms=400)))
    async with client.aio.live.connect(model="gemini-3.8-live", config=cfg) as session:
        stream_sid, marks = "", 0

        async def to_twilio(event: dict) -> None:
            await ws.send_str(json.dumps({**event, "streamSid": stream_sid}))

        async def from_gemini() -> None:
            nonlocal marks
            while True:
                async for msg in session.receive():
                    if msg.data:
                        ulaw = pcm16_to_ulaw(resample(pcm16_from_bytes(msg.data), 24000, 8000))
                        await to_twilio({"event": "media", "media": {"payload": base64.b64encode(ulaw).decode()}})
                    if msg.tool_call:
                        fc = msg.tool_call.function_calls[0]
                        await session.send_tool_response(function_responses=types.FunctionResponse(
                            id=fc.id, name=fc.name, response={"incident_id": "I-1"}))
                    sc = msg.server_content
                    if sc and sc.interrupted:
                        await to_twilio({"event": "clear"})
                    if sc and sc.turn_complete:
                        marks += 1
                        await to_twilio({"event": "mark", "mark": {"name": f"turn-{marks}"}})

        pump = None
        async for raw in ws:
            if raw.type != WSMsgType.TEXT:
                break
            msg = json.loads(raw.data)
            if msg["event"] == "start":
                stream_sid = msg["streamSid"]
                pump = asyncio.create_task(from_gemini())
            elif msg["event"] == "media":
                pcm = ulaw_to_pcm16(base64.b64decode(msg["media"]["payload"]))
                await session.send_realtime_input(audio=types.Blob(data=pcm.tobytes(), mime_type="audio/pcm;rate=8000"))
            elif msg["event"] == "stop":
                break
        if pump:
            pump.cancel()


async def test_phone_call_through_reference_bridge():
    async with GeminiEmulator(SCENARIO) as gemini, TwilioEmulator() as twilio:
        async def voice(request):
            return web.Response(content_type="text/xml", text=(
                f'<Response><Connect><Stream url="ws://127.0.0.1:{port}/media">'
                '<Parameter name="persona" value="guest"/></Stream></Connect></Response>'))

        async def media(request):
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            await bridge_stream(ws, gemini)
            return ws

        app = web.Application()
        app.add_routes([web.post("/voice", voice), web.get("/media", media)])
        runner = web.AppRunner(app, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            call = await twilio.place_inbound_call(
                to="+15550001111", from_="+15557654321", voice_url=f"http://127.0.0.1:{port}/voice",
                callee_script=[{"say": "My sink leaks."}, {"say": "Bye."}, {"hangup": True, "delay": 0.8}])
            await call.wait(20)
        finally:
            await runner.cleanup()
    session = gemini.sessions[0]
    assert [h.get("text") for h in session.state.history if h["role"] == "user"] == ["My sink leaks.", "Bye."]
    assert session.tool_responses[0]["response"] == {"incident_id": "I-1"}
    assert call.marks_echoed == ["turn-1", "turn-2"]
    says = [e.t for e in call.events("callee_say")]
    echoes = [e.t for e in call.events("mark_echoed")]
    assert echoes[0] < says[0] < echoes[1] < says[1]  # turn-taking: each side waits for the other
    heard = call.received_pcm.astype(np.int16)
    assert rms_dbfs(heard) > -45 and twilio.errors == [] and gemini.errors == []
