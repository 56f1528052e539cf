"""The real google-genai Live client against the Gemini emulator: every message type."""
from __future__ import annotations

import asyncio

import pytest
from google.genai import errors, types

from emulators.audio import speech_like
from emulators.gemini import Scenario

from .conftest import collect_turn, live_config, next_message, scenario, send_speech, turn_audio, turn_text

MODEL = "gemini-3.8-live"


async def test_spoken_greeting_audio_transcription_and_usage(gemini):
    gemini.scenario = Scenario.load(scenario({"say": "Hello, this is Fixline maintenance."}))
    async with gemini.client("v1beta").aio.live.connect(model=MODEL, config=live_config()) as s:
        assert s.setup_complete is not None
        msgs = await collect_turn(s)
    expected = speech_like("Hello, this is Fixline maintenance.", 24000).tobytes()
    assert turn_audio(msgs) == expected  # content and length are known exactly
    chunks = [m.data for m in msgs if m.data]
    assert {len(c) for c in chunks[:-1]} == {24000 * 2 * 40 // 1000}  # 40 ms chunks
    assert turn_text(msgs) == "Hello, this is Fixline maintenance."
    flags = [m.server_content for m in msgs if m.server_content]
    assert flags[-2].generation_complete and flags[-1].turn_complete
    usage = msgs[-1].usage_metadata
    assert usage.response_token_count == int(len(expected) / 48000 * 25)
    assert gemini.requests[0]["path"].endswith("v1beta.GenerativeService.BidiGenerateContent")
    assert gemini.requests[0]["headers"]["x-goog-api-key"] == "test-key"


async def test_vad_honours_silence_duration_at_8khz(gemini):
    gemini.scenario = Scenario.load(scenario({"listen": "My sink is leaking."}, {"say": "Okay."}))
    aad = types.AutomaticActivityDetection(silence_duration_ms=600,
                                           start_of_speech_sensitivity="START_SENSITIVITY_LOW")
    cfg = live_config(realtime_input_config=types.RealtimeInputConfig(automatic_activity_detection=aad))
    async with gemini.client().aio.live.connect(model=MODEL, config=cfg) as s:
        sess = await gemini.wait_for_session()
        await send_speech(s, "My sink is leaking", rate=8000, silence_s=0.5)
        await asyncio.sleep(0.1)
        assert sess.user_turns == []  # 500 ms of silence < 600 ms: the turn is still open
        await send_speech(s, "", rate=8000, silence_s=0.2)
        msgs = await collect_turn(s)
    assert msgs[0].server_content.input_transcription.text == "My sink is leaking."
    assert msgs[0].server_content.input_transcription.finished is True
    assert turn_text(msgs) == "Okay."
    speech_s = len(speech_like("My sink is leaking", 8000)) / 8000
    assert abs(sess.user_turns[0].audio_s - (speech_s - 0.06 + 0.6)) < 0.05


async def test_barge_in_interrupts_and_cancels_pending_non_blocking_calls(gemini):
    gemini.scenario = Scenario.load(scenario(
        {"tool_call": {"name": "search_maintenance", "args": {"query": "sink"}}, "wait": False},
        {"say": "Let me read you a rather long troubleshooting article about kitchen sinks"},
        {"listen": "Sorry, stop."}, {"say": "Sure."},
        timing={"response_delay_ms": 0, "chunk_ms": 40, "burst_ms": 100, "pace": 1.0}))
    async with gemini.client().aio.live.connect(model=MODEL, config=live_config()) as s:
        first, barge, heard = [], None, 0
        async for m in s.receive():  # tool call, then speech that gets interrupted
            first.append(m)
            heard += len(m.data or b"")
            if barge is None and heard >= 48000 * 0.5:  # speak over the agent after 0.5 s
                barge = asyncio.create_task(send_speech(s, "Sorry stop", silence_s=0.7))
        await barge
        second = await collect_turn(s)
        kinds = first + second
    assert first[0].tool_call.function_calls[0].name == "search_maintenance"
    assert turn_text(second) == "Sure."
    interrupted = [m for m in kinds if m.server_content and m.server_content.interrupted]
    cancel = [m for m in kinds if m.tool_call_cancellation]
    assert interrupted and cancel
    assert cancel[0].tool_call_cancellation.ids == [first[0].tool_call.function_calls[0].id]
    assert not any(m.server_content and m.server_content.generation_complete for m in first)
    full = len(speech_like("Let me read you a rather long troubleshooting article about kitchen sinks", 24000)) * 2
    assert 0 < len(turn_audio(first)) < full


async def test_blocking_tool_call_waits_for_response(gemini):
    gemini.scenario = Scenario.load(scenario(
        {"tool_call": {"name": "create_incident", "args": {"category": "plumbing"}}},
        {"say": "Logged."}))
    async with gemini.client().aio.live.connect(model=MODEL, config=live_config()) as s:
        sess = await gemini.wait_for_session()
        call = (await next_message(s)).tool_call.function_calls[0]
        assert call.args == {"category": "plumbing"} and call.id.startswith("function-call-")
        await asyncio.sleep(0.2)
        assert "serverContent" not in sess.kinds("out")  # blocked on the tool
        await s.send_tool_response(function_responses=types.FunctionResponse(
            id=call.id, name=call.name, response={"incident_id": "I-7"}))
        msgs = await collect_turn(s)
    assert turn_text(msgs) == "Logged."
    assert sess.tool_responses[0]["response"] == {"incident_id": "I-7"}
    assert {"role": "tool", "id": call.id, "name": "create_incident",
            "response": {"incident_id": "I-7"}} in sess.state.history


async def test_unknown_tool_response_id_closes_1007(gemini):
    gemini.scenario = Scenario.load(scenario({"listen": "x"}))
    async with gemini.client().aio.live.connect(model=MODEL, config=live_config()) as s:
        await s.send_tool_response(function_responses={"id": "function-call-nope", "name": "x",
                                                       "response": {}})
        with pytest.raises(errors.APIError) as exc:
            await collect_turn(s)
    assert exc.value.code == 1007 and exc.value.details == "Request contains an invalid argument."


async def test_manual_activity_signals_and_text_input(gemini):
    gemini.scenario = Scenario.load(scenario({"listen": "heard"}, {"say": "One."},
                                             {"listen": ""}, {"say": "Two."}))
    aad = types.AutomaticActivityDetection(disabled=True)
    cfg = live_config(realtime_input_config=types.RealtimeInputConfig(automatic_activity_detection=aad))
    async with gemini.client().aio.live.connect(model=MODEL, config=cfg) as s:
        sess = await gemini.wait_for_session()
        await s.send_realtime_input(activity_start=types.ActivityStart())
        await send_speech(s, "hello there", silence_s=0.0)
        await s.send_realtime_input(activity_end=types.ActivityEnd())
        assert turn_text(await collect_turn(s)) == "One."
        await s.send_realtime_input(text="typed words")
        assert turn_text(await collect_turn(s)) == "Two."
    assert sess.state.history[2] == {"role": "user", "text": "typed words"}


async def test_activity_start_with_automatic_vad_is_rejected(gemini):
    async with gemini.client().aio.live.connect(model=MODEL, config=live_config()) as s:
        await s.send_realtime_input(activity_start=types.ActivityStart())
        with pytest.raises(errors.APIError) as exc:
            await collect_turn(s)
    assert exc.value.code == 1007


async def test_audio_stream_end_closes_the_open_turn(gemini):
    gemini.scenario = Scenario.load(scenario({"listen": "cut"}, {"say": "Got it."}))
    async with gemini.client().aio.live.connect(model=MODEL, config=live_config()) as s:
        await send_speech(s, "hello there", silence_s=0.1)
        await s.send_realtime_input(audio_stream_end=True)
        msgs = await collect_turn(s)
    assert msgs[0].server_content.input_transcription.text == "cut"


async def test_client_content_turn_and_history_seed(gemini):
    gemini.scenario = Scenario.load(scenario({"listen": ""}, {"say": "Reply."}))
    async with gemini.client().aio.live.connect(model=MODEL, config=live_config()) as s:
        sess = await gemini.wait_for_session()
        await s.send_client_content(turns=[types.Content(role="user", parts=[types.Part(text="earlier")])],
                                    turn_complete=False)
        await s.send_client_content(turns=types.Content(role="user", parts=[types.Part(text="Hi!")]))
        assert turn_text(await collect_turn(s)) == "Reply."
    assert sess.state.history[:2] == [{"role": "user", "text": "earlier", "seeded": True},
                                      {"role": "user", "text": "Hi!"}]


async def test_text_modality_sends_text_parts(gemini):
    gemini.scenario = Scenario.load(scenario({"say": "Plain text answer."}))
    cfg = types.LiveConnectConfig(response_modalities=["TEXT"])
    async with gemini.client().aio.live.connect(model=MODEL, config=cfg) as s:
        msgs = await collect_turn(s)
    assert "".join(m.text or "" for m in msgs) == "Plain text answer." and not turn_audio(msgs)


async def test_resumption_keeps_history_and_position(gemini):
    gemini.scenario = Scenario.load(scenario({"say": "First."}, {"listen": ""}, {"say": "Second."}))
    cfg = live_config(session_resumption=types.SessionResumptionConfig())
    client = gemini.client()
    async with client.aio.live.connect(model=MODEL, config=cfg) as s:
        assert turn_text(await collect_turn(s)) == "First."
        update = (await next_message(s)).session_resumption_update
        assert update.resumable and update.new_handle
        with pytest.raises(errors.APIError) as busy:  # old socket still open -> 1011
            async with client.aio.live.connect(model=MODEL, config=live_config(
                    session_resumption=types.SessionResumptionConfig(handle=update.new_handle))) as s2:
                await collect_turn(s2)
        assert busy.value.code == 1011
    cfg2 = live_config(session_resumption=types.SessionResumptionConfig(handle=update.new_handle))
    async with client.aio.live.connect(model=MODEL, config=cfg2) as s:
        await s.send_realtime_input(text="continue")
        assert turn_text(await collect_turn(s)) == "Second."
    assert gemini.sessions[-1].state is gemini.sessions[0].state
    assert [h.get("text") for h in gemini.sessions[-1].state.history] == ["First.", "continue", "Second."]


async def test_unknown_resumption_handle_closes_1008(gemini):
    cfg = live_config(session_resumption=types.SessionResumptionConfig(handle="h-unknown"))
    with pytest.raises(errors.APIError) as exc:
        async with gemini.client().aio.live.connect(model=MODEL, config=cfg):
            pass
    assert exc.value.code == 1008 and exc.value.details == "Requested entity was not found."


async def test_go_away_then_deadline_close(gemini):
    gemini.connection_lifetime_s, gemini.go_away_time_left_s = 0.2, 0.3
    async with gemini.client().aio.live.connect(model=MODEL, config=live_config()) as s:
        msg = await next_message(s)
        assert msg.go_away.time_left == "0.300s"
        with pytest.raises(errors.APIError) as exc:
            await collect_turn(s)
    assert exc.value.code == 1011
    assert exc.value.details == "Deadline expired before operation could complete."


@pytest.mark.parametrize("key,model,code,reason", [
    ("wrong", MODEL, 1007, "API key not valid. Please pass a valid API key."),
    ("test-key", "gemini-live-2.5-flash-preview", 1008,
     "models/gemini-live-2.5-flash-preview is not found for API version v1beta"),
])
async def test_handshake_failures_are_close_codes(gemini, key, model, code, reason):
    from google import genai
    client = genai.Client(api_key=key, http_options=gemini.http_options("v1beta"))
    with pytest.raises(errors.APIError) as exc:
        async with client.aio.live.connect(model=model, config=live_config()):
            pass
    assert exc.value.code == code and exc.value.details.startswith(reason)
    assert len(exc.value.details.encode()) <= 123


async def test_scripted_failure_close_code(gemini):
    gemini.scenario = Scenario.load(scenario({"close": {"code": 1011, "reason": "Internal error encountered."}}))
    async with gemini.client().aio.live.connect(model=MODEL, config=live_config()) as s:
        with pytest.raises(errors.APIError) as exc:
            await collect_turn(s)
    assert (exc.value.code, exc.value.details) == (1011, "Internal error encountered.")


async def test_model_feature_validation_for_38_live(gemini):
    cfg = live_config(thinking_config=types.ThinkingConfig(thinking_budget=0))
    with pytest.raises(errors.APIError) as exc:
        async with gemini.client().aio.live.connect(model=MODEL, config=cfg):
            pass
    assert exc.value.code == 1007


async def test_scenario_selection_header_queue_and_full_setup(gemini):
    gemini.queue_scenario(scenario({"say": "Queued."}))
    client = gemini.client()
    full = live_config(
        system_instruction="You are calm.",
        tools=[types.Tool(function_declarations=[types.FunctionDeclaration(
            name="search_maintenance", behavior=types.Behavior.NON_BLOCKING,
            parameters_json_schema={"type": "object", "properties": {"query": {"type": "string"}}})])],
        speech_config=types.SpeechConfig(voice_config=types.VoiceConfig(
            prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name="Kore"))),
        context_window_compression=types.ContextWindowCompressionConfig(
            trigger_tokens=25600, sliding_window=types.SlidingWindow(target_tokens=12800)))
    async with client.aio.live.connect(model=MODEL, config=full) as s:
        assert turn_text(await collect_turn(s)) == "Queued."
    sess = gemini.sessions[0]
    assert sess.cfg.system_instruction == "You are calm."
    assert sess.cfg.tools == {"search_maintenance": {
        "behavior": "NON_BLOCKING", "description": "",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}}
    assert (sess.cfg.voice, sess.cfg.language_code) == ("Kore", "")
    hdr = live_config(http_options=types.HttpOptions(headers={"x-emulator-scenario": "test_basic"}))
    async with client.aio.live.connect(model=MODEL, config=hdr) as s:
        await collect_turn(s)
    assert gemini.sessions[1].state.scenario.name == "test_basic"
