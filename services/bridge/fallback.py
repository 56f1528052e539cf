"""When Gemini cannot be recovered: a real spoken apology, then a human or a callback.

The prompts are pre-rendered 8 kHz speech (``prompts/audio/*.wav``), converted once per
process to whole 160-byte μ-law frames, so the apology plays even with Gemini down.
"""

from __future__ import annotations

import wave
from functools import cache
from pathlib import Path

from .audio import FRAME_BYTES, ULAW_SILENCE, pcm16_to_ulaw

AUDIO_DIR = Path(__file__).with_name("prompts") / "audio"
PROMPTS = {"transfer": "sorry_transfer.wav", "callback": "sorry_callback.wav"}
CALLBACK_SAY = ("We are sorry, we could not finish your call. We have your details and will call you back "
                "shortly. Goodbye.")


@cache
def prompt_frames(kind: str) -> tuple[bytes, ...]:
    """The apology as 160-byte μ-law frames (last one padded with μ-law silence)."""
    with wave.open(str(AUDIO_DIR / PROMPTS[kind]), "rb") as wav:
        if wav.getframerate() != 8000 or wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise ValueError(f"{PROMPTS[kind]} must be 8 kHz mono PCM16")
        ulaw = pcm16_to_ulaw(wav.readframes(wav.getnframes()))
    ulaw += bytes([ULAW_SILENCE]) * (-len(ulaw) % FRAME_BYTES)
    return tuple(ulaw[i:i + FRAME_BYTES] for i in range(0, len(ulaw), FRAME_BYTES))
