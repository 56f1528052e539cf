"""Shared helpers for the emulator tests (real SDKs against the emulators; no mocks)."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest
from google.genai import types

from emulators.audio import speech_like
from emulators.gemini import GeminiEmulator
from emulators.gemini.protocol import check_server_frame

FAST = {"response_delay_ms": 0, "chunk_ms": 40, "burst_ms": 0, "pace": 0}


def scenario(*steps: dict, timing: dict | None = None, **extra) -> dict:
    return {"name": "t", "timing": timing or FAST, "steps": list(steps), **extra}


@pytest.fixture
async def gemini():
    async with GeminiEmulator(scenario(), api_key="test-key") as emu:
        yield emu
        for session in emu.sessions:  # every frame the emulator sent must be SDK-safe
            for event in session.events:
                if event.direction == "out":
                    assert check_server_frame(event.detail) == [], event.detail
        assert emu.errors == []


def live_config(**kw) -> types.LiveConnectConfig:
    base = dict(response_modalities=["AUDIO"], input_audio_transcription={},
                output_audio_transcription={})
    base.update(kw)
    return types.LiveConnectConfig(**base)


async def collect_turn(session, timeout: float = 10.0) -> list[types.LiveServerMessage]:
    """All messages of one model turn (``receive`` stops after turnComplete)."""
    async def _collect():
        return [m async for m in session.receive()]
    return await asyncio.wait_for(_collect(), timeout)


async def next_message(session, timeout: float = 10.0) -> types.LiveServerMessage:
    return await asyncio.wait_for(session.receive().__anext__(), timeout)


def turn_audio(messages) -> bytes:
    return b"".join(m.data for m in messages if m.data)


def turn_text(messages) -> str:
    return "".join(m.server_content.output_transcription.text for m in messages
                   if m.server_content and m.server_content.output_transcription)


async def send_speech(session, text: str, rate: int = 16000, silence_s: float = 0.8,
                      chunk_ms: int = 20) -> None:
    """Stream a speech-like utterance then silence, as a phone bridge would."""
    speech = speech_like(text, rate) if text else np.zeros(0, np.int16)
    pcm = np.concatenate([speech, np.zeros(int(silence_s * rate), np.int16)])
    step = rate * chunk_ms // 1000
    for i in range(0, len(pcm), step):
        await session.send_realtime_input(
            audio=types.Blob(data=pcm[i:i + step].tobytes(), mime_type=f"audio/pcm;rate={rate}"))
        await asyncio.sleep(0)
