"""The persona scenarios (guest, vendor, landlord) play end to end through the real SDK,
read like conversations, and the malformed-frame guard proves what the SDK would reject."""
from __future__ import annotations

import dataclasses
import json

import pytest
from google.genai import types

from emulators.gemini import GeminiEmulator, Scenario, Timing
from emulators.gemini.protocol import check_server_frame

from .conftest import collect_turn, live_config, next_message, send_speech, turn_text


def fast(name: str) -> Scenario:
    return dataclasses.replace(Scenario.load(name), timing=Timing(response_delay_ms=0, burst_ms=0, pace=0))


@pytest.mark.parametrize("persona", ["guest", "vendor", "landlord"])
async def test_persona_conversation(persona):
    script = fast(persona)
    async with GeminiEmulator(script) as emu:
        client = emu.client("v1beta")
        transcript: list[str] = []
        async with client.aio.live.connect(model="gemini-3.8-live", config=live_config()) as s:
            for step in script.steps:
                if step.kind == "say":
                    transcript.append("agent: " + turn_text(await collect_turn(s)))
                elif step.kind == "listen":
                    await send_speech(s, step.text, rate=8000, silence_s=0.6)
                    transcript.append("caller: " + step.text)
                elif step.kind == "tool_call":
                    msg = await next_message(s)
                    while msg.tool_call is None:  # e.g. the caller's inputTranscription first
                        msg = await next_message(s)
                    call = msg.tool_call.function_calls[0]
                    assert (call.name, call.args) == (step.calls[0]["name"], step.calls[0]["args"])
                    await s.send_tool_response(function_responses=types.FunctionResponse(
                        id=call.id, name=call.name, response={"ok": True}))
                    transcript.append(f"tool: {call.name}")
        assert emu.errors == []
    expected = [("agent: " if st.kind == "say" else "caller: " if st.kind == "listen" else "tool: ")
                + (st.text if st.kind != "tool_call" else st.calls[0]["name"]) for st in script.steps]
    assert transcript == expected
    history = emu.sessions[0].state.history
    assert [h["text"] for h in history if h["role"] == "user"] == [s.text for s in script.steps if s.kind == "listen"]


def test_builtin_scenarios_parse():
    assert {"guest", "vendor", "landlord", "test_basic", "test_goaway", "test_failure"} <= set(
        Scenario.builtin_names())
    for name in Scenario.builtin_names():
        assert Scenario.load(name).steps


@pytest.mark.parametrize("frame", [
    {"error": {"code": 500, "message": "boom"}},
    {"someFutureField": {}},
])
async def test_sdk_crashes_on_frames_the_guard_rejects(frame):
    """Why every emulator frame is checked in the fixture: a frame the guard flags really
    breaks the real SDK's ``receive()``. The frame is pushed through a real socket."""
    assert check_server_frame(frame) != []
    script = Scenario.load({"name": "bad", "steps": [{"listen": ""}]})
    async with GeminiEmulator(script) as emu:
        async with emu.client().aio.live.connect(model="gemini-3.8-live") as s:
            sess = await emu.wait_for_session()
            await sess.out.send(frame)  # bypass the session's own (correct) builders
            with pytest.raises(TypeError):
                await next_message(s, timeout=5)


async def test_twilio_sdk_rejects_non_json_and_google_client_rejects_html():
    """The other SDKs fail loudly on bodies a buggy emulator might return."""
    from aiohttp import web
    from twilio.base.exceptions import TwilioRestException
    from googleapiclient.errors import HttpError
    import asyncio

    async def broken(request):
        return web.Response(status=500, text="<html>oops</html>", content_type="text/html")

    async def not_json(request):
        return web.Response(status=201, text="not json", content_type="application/json")

    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{a}/Calls.json", not_json)
    app.router.add_route("*", "/calendar/v3/{tail:.*}", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        from twilio.rest import Client
        client = Client("AC" + "0" * 32, "t", environment={})
        client.api.base_url = f"http://127.0.0.1:{port}"
        with pytest.raises((TwilioRestException, json.JSONDecodeError, ValueError)):
            await asyncio.to_thread(client.calls.create, to="+15550002222", from_="+15550001111", twiml="<Response/>")
        import httplib2
        from googleapiclient.discovery import build
        svc = build("calendar", "v3", http=httplib2.Http(), static_discovery=True,
                    client_options={"api_endpoint": f"http://127.0.0.1:{port}/calendar/v3/"})
        with pytest.raises(HttpError) as exc:
            await asyncio.to_thread(svc.events().list(calendarId="primary").execute)
        assert exc.value.status_code == 500
    finally:
        await runner.cleanup()
