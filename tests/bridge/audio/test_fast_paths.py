"""The hot-path shortcuts give exactly what the plain path gives: μ-law table
encoding, the loudness-gated clip, the shared workspaces for irregular chunks."""

from __future__ import annotations

import random

import numpy as np
import pytest

from services.bridge.audio import (
    InboundAudio,
    OutboundAudio,
    make_decimator_24k_to_8k,
    make_upsampler_8k_to_16k,
    pcm16_to_ulaw,
    ulaw_to_pcm16,
)
from services.bridge.audio.g711 import UlawTable

from .signals import from_pcm16, to_pcm16, tone


def square(freq: float, rate: int, seconds: float) -> np.ndarray:
    return np.where(tone(freq, rate, seconds, 1.0) >= 0, 32767.0, -32768.0)


def test_ulaw_table_equals_clip_truncate_and_lin2ulaw() -> None:
    table = UlawTable(65536)
    samples = np.concatenate(
        [np.arange(-65536, 65536, 0.75), [-0.999, -0.5, 0.0, 0.5, 0.999, 65535.9, -65536.0]]
    ).astype(np.float32)
    expected = pcm16_to_ulaw(np.clip(np.trunc(samples), -32768, 32767).astype(np.int16).tobytes())
    assert table.encode(samples) == expected
    assert table.encode(samples[:7].reshape(7, 1)) == expected[:7]  # other shapes reuse memory


def test_outbound_table_covers_the_filters_worst_case_output() -> None:
    audio = OutboundAudio()
    worst = 32768 * float(np.abs(audio._decimator._kernel).sum(axis=0, dtype=np.float64).max())
    assert worst < audio._ulaw.limit
    with pytest.raises(IndexError):  # far outside: refuses rather than wrapping
        audio._ulaw.encode(np.array([3.0 * audio._ulaw.limit], dtype=np.float32))


@pytest.mark.parametrize("signal", ["square", "noise"])
def test_outbound_fast_path_equals_decimate_then_lin2ulaw(signal: str) -> None:
    rng = random.Random(8)
    if signal == "square":  # Gibbs overshoot beyond int16 must saturate, not wrap
        pcm = to_pcm16(square(500, 24_000, 0.5))
    else:
        pcm = to_pcm16(np.random.default_rng(8).normal(0, 9000, 12_000))
    decimator, audio = make_decimator_24k_to_8k(), OutboundAudio()
    expected, frames, i = b"", [], 0
    while i < len(pcm):
        size = 2 * rng.randint(1, 1700)  # whole samples: the table path every call
        expected += pcm16_to_ulaw(decimator.process(pcm[i : i + size]))
        frames += audio.process(pcm[i : i + size])
        i += size
    assert b"".join(frames) == expected[: len(b"".join(frames))]
    assert len(expected) - len(b"".join(frames)) < 160


def test_loud_input_is_clipped_quiet_input_skips_it() -> None:
    loud = to_pcm16(square(500, 8_000, 0.2))
    out = from_pcm16(make_upsampler_8k_to_16k().process(loud))
    assert out.max() == 32767 and out.min() == -32768  # saturated, no wrap
    quiet = to_pcm16(tone(500, 8_000, 0.2, 12_000.0))  # 2x gain bound < full scale: no clip
    taps = make_upsampler_8k_to_16k().taps
    x = from_pcm16(quiet)
    stuffed = np.zeros(2 * len(x))
    stuffed[::2] = x
    direct = np.convolve(stuffed, taps)[: 2 * len(x)]
    got = from_pcm16(make_upsampler_8k_to_16k().process(quiet))
    assert np.max(np.abs(got - direct[: len(got)])) <= 1.0


def test_inbound_hot_path_equals_the_resampler() -> None:
    ulaw = bytes(np.random.default_rng(2).integers(0, 256, 8_000, dtype=np.uint8))
    upsampler, audio = make_upsampler_8k_to_16k(), InboundAudio()
    sizes = [160] * 20 + [7, 1, 333, 160, 5_000]
    out, expected, i = [], [], 0
    for size in sizes:
        chunk = ulaw[i : i + size]
        out.append(audio.process(chunk))
        expected.append(upsampler.process(ulaw_to_pcm16(chunk)))
        i += size
    assert out == expected


def loud_and_quiet_ulaw(seconds: float) -> bytes:
    """Speech-level noise with full-scale square bursts: the frame path's clip gate both ways."""
    quiet = np.random.default_rng(4).normal(0, 3000, int(8_000 * seconds))
    loud = square(300, 8_000, seconds)
    burst = (np.arange(len(quiet)) // 800) % 3 == 1  # 100 ms loud in every 300 ms
    return pcm16_to_ulaw(to_pcm16(np.where(burst, loud, quiet)))


@pytest.mark.parametrize("frame_in", [16, 32, 160, 800])  # shorter and longer than the history
def test_frame_path_equals_process_bit_for_bit(frame_in: int) -> None:
    pcm = ulaw_to_pcm16(loud_and_quiet_ulaw(1.0))
    framed, plain = make_upsampler_8k_to_16k(frame_in=frame_in), make_upsampler_8k_to_16k()
    size = framed.frame_bytes
    assert size == 2 * frame_in
    for i in range(0, len(pcm) - size + 1, size):
        out = framed.filter_frame(pcm[i : i + size])
        assert out is not None  # a stream of whole frames never leaves the frame path
        assert out == plain.process(pcm[i : i + size])
        assert framed.samples_out == plain.samples_out
    assert framed.flush() == plain.flush()  # the filter tail: samples_in kept in step


def test_frame_path_saturates_loud_frames() -> None:
    ulaw = pcm16_to_ulaw(to_pcm16(square(500, 8_000, 0.2)))
    audio = InboundAudio()
    out = from_pcm16(b"".join(audio.process(ulaw[i : i + 160]) for i in range(0, len(ulaw), 160)))
    assert out.max() == 32767 and out.min() == -32768  # the Gibbs overshoot clipped, not wrapped
    one_shot = from_pcm16(make_upsampler_8k_to_16k().process(ulaw_to_pcm16(ulaw)))
    assert np.max(np.abs(out - one_shot)) <= 1  # BLAS may round a last bit differently


def test_frame_path_declines_while_input_is_held_back() -> None:
    upsampler = make_upsampler_8k_to_16k()
    frame = ulaw_to_pcm16(loud_and_quiet_ulaw(0.02))
    assert upsampler.filter_frame(frame[:318]) is None  # not a whole frame
    upsampler.process(frame[:14])  # 7 samples: less than a block, held back
    held_in = upsampler.samples_in
    assert upsampler.filter_frame(frame) is None
    assert upsampler.samples_in == held_in  # declined means untouched
    upsampler.process(frame[:18])  # 9 more: the block completes, nothing held
    assert upsampler.filter_frame(frame) is not None


def test_inbound_realigned_stream_equals_the_resampler() -> None:
    """Irregular messages between frames: the frame path steps aside and comes back."""
    ulaw = loud_and_quiet_ulaw(1.5)
    upsampler, audio = make_upsampler_8k_to_16k(), InboundAudio()
    sizes = [160] * 10 + [7, 9] + [160] * 10 + [7, 160, 160, 9] + [160] * 10 + [1, 2_000] + [160] * 10
    out, expected, i = [], [], 0
    for size in sizes:
        chunk = ulaw[i : i + size]
        out.append(audio.process(chunk))
        expected.append(upsampler.process(ulaw_to_pcm16(chunk)))
        i += size
    assert out == expected
    assert b"".join(out) != b""


def test_frame_size_must_be_whole_blocks() -> None:
    with pytest.raises(ValueError):
        make_upsampler_8k_to_16k(frame_in=100)
    assert make_upsampler_8k_to_16k(frame_in=0).filter_frame(bytes(320)) is None
