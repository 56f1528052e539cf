"""G.711, 160-byte framing and the per-call inbound/outbound pipelines."""

from __future__ import annotations

import random

import numpy as np
import pytest

from services.bridge.audio import (
    FRAME_BYTES,
    ULAW_SILENCE,
    FrameAssembler,
    InboundAudio,
    OutboundAudio,
    pcm16_to_ulaw,
    ulaw_to_pcm16,
)

from .signals import from_pcm16, to_pcm16, tone


def test_ulaw_codes_round_trip() -> None:
    codes = bytes(range(256))
    back = pcm16_to_ulaw(ulaw_to_pcm16(codes))
    # 0x7F is μ-law "negative zero"; it decodes to 0 and re-encodes as 0xFF
    assert [c for c, b in zip(codes, back, strict=True) if c != b] == [0x7F]
    assert back[0x7F] == ULAW_SILENCE


def test_ulaw_silence_is_zero() -> None:
    assert ulaw_to_pcm16(bytes([ULAW_SILENCE]) * 4) == bytes(8)


def test_frame_assembler_only_emits_whole_frames() -> None:
    rng = random.Random(3)
    framer = FrameAssembler()
    stream = bytes(rng.randrange(256) for _ in range(20_005))  # not a frame multiple
    frames, i = [], 0
    while i < len(stream):
        size = rng.choice([0, 1, 159, 160, 161, rng.randint(1, 2000)])
        pushed = framer.push(stream[i : i + size])
        assert all(len(f) == FRAME_BYTES for f in pushed)
        frames += pushed
        i += size
        assert framer.pending == min(i, len(stream)) % FRAME_BYTES
    assert b"".join(frames) == stream[: len(frames) * FRAME_BYTES]
    tail = framer.flush()
    assert len(tail) == 1 and len(tail[0]) == FRAME_BYTES
    rest = stream[len(frames) * FRAME_BYTES :]
    assert tail[0] == rest + bytes([ULAW_SILENCE]) * (FRAME_BYTES - len(rest))
    assert framer.flush() == [] and framer.pending == 0


def test_frame_assembler_clear_drops_partial_frame() -> None:
    framer = FrameAssembler()
    assert framer.push(b"\x01" * 100) == []
    framer.clear()
    assert framer.push(b"\x02" * 160) == [b"\x02" * 160]


def test_inbound_16k_doubles_the_samples_and_keeps_the_tone() -> None:
    audio = InboundAudio()
    assert audio.mime_type == "audio/pcm;rate=16000"
    ulaw = pcm16_to_ulaw(to_pcm16(tone(1_000, 8_000, 0.2)))
    out = b"".join(audio.process(ulaw[i : i + 160]) for i in range(0, len(ulaw), 160))
    assert len(out) == 4 * len(ulaw)
    pcm = from_pcm16(out)[400:]
    t = np.arange(len(pcm)) / 16_000
    amplitude = 2 * abs(np.dot(pcm, np.exp(-2j * np.pi * 1_000 * t))) / len(pcm)
    assert amplitude == pytest.approx(16_000, rel=0.02)  # μ-law noise, not the filter
    assert 0 < audio.latency_s <= 0.005


def test_inbound_8k_is_a_plain_ulaw_decode() -> None:
    audio = InboundAudio(rate=8_000)
    frame = bytes(range(160))
    assert audio.process(frame) == ulaw_to_pcm16(frame)
    assert audio.mime_type == "audio/pcm;rate=8000" and audio.latency_s == 0


def test_inbound_rejects_other_rates() -> None:
    with pytest.raises(ValueError):
        InboundAudio(rate=24_000)


def test_outbound_frames_are_160_bytes_for_any_chunking() -> None:
    rng = random.Random(5)
    pcm = to_pcm16(tone(440, 24_000, 1.0, 12_000))
    audio, frames, i = OutboundAudio(), [], 0
    while i < len(pcm):
        size = rng.randint(1, 6_000)  # odd sizes too: a sample may straddle chunks
        frames += audio.process(pcm[i : i + size])
        i += size
    frames += audio.flush()
    assert frames and all(len(f) == FRAME_BYTES for f in frames)
    samples_8k = len(pcm) // 2 // 3
    assert len(frames) == -(-(samples_8k + 41) // FRAME_BYTES)  # input + 123-tap tail


def test_outbound_matches_one_shot_conversion() -> None:
    pcm = to_pcm16(tone(440, 24_000, 0.5, 12_000))
    one_shot = OutboundAudio().process(pcm)
    audio = OutboundAudio()
    chunked = [f for i in range(0, len(pcm), 1_920) for f in audio.process(pcm[i : i + 1_920])]
    assert chunked == one_shot


def test_outbound_reset_drops_pending_audio() -> None:
    audio = OutboundAudio()
    audio.process(to_pcm16(tone(440, 24_000, 0.03)))  # 30 ms: one frame out, half a frame held
    audio.reset()
    assert audio.flush() == []
    assert audio.process(bytes(2 * 480)) == [bytes([ULAW_SILENCE]) * FRAME_BYTES]
