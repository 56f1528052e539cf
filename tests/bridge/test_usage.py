"""Gemini Live usageMetadata summed per call (for the CallOutcome and the end-of-call report)."""

from __future__ import annotations

from google.genai import types

from emulators.gemini import GeminiEmulator
from emulators.gemini.protocol import usage_metadata
from fixline_proto.events import CallOutcome
from services.bridge.usage import LiveUsage

from .test_gemini_link import make_link, scenario, speak, wait_for


def test_sums_turns_by_direction_and_modality():
    usage = LiveUsage()
    usage.add(types.UsageMetadata.model_validate(usage_metadata(2.0, 12, 3.0)))
    usage.add(types.UsageMetadata.model_validate(usage_metadata(1.0, 0, 0.4)))
    usage.add(None)
    usage.add(types.UsageMetadata(prompt_token_count=7, response_token_count=5))   # no per-modality split
    assert (usage.input_audio_tokens, usage.input_text_tokens) == (75, 12 + 7)
    assert (usage.output_audio_tokens, usage.output_text_tokens) == (85, 5)
    outcome = usage.stamp(CallOutcome(property_id="p1", call_id="c1", outcome="caller_hangup", barge_ins=2))
    assert (outcome.input_audio_tokens, outcome.output_text_tokens, outcome.barge_ins) == (75, 5, 2)


async def test_the_link_counts_what_the_live_session_reports():
    sc = scenario({"say": "Hello, Fixline here."}, {"listen": "My sink is leaking."}, {"say": "I see."})
    async with GeminiEmulator(sc, api_key="test-key") as emu:
        link, handler = make_link(emu)
        link.start()
        await wait_for(lambda: "Hello, Fixline here." in handler.said())
        await speak(link, "My sink is leaking")
        await wait_for(lambda: "I see." in handler.said())
        await link.close()
    assert link.usage.input_audio_tokens > 0 and link.usage.output_audio_tokens > 0
    assert link.usage.input_text_tokens > 0, "the kickoff text counts as input text"
