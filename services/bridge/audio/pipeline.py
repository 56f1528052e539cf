"""Per-call audio pipelines between Twilio (μ-law 8 kHz) and Gemini Live (PCM16).

One `InboundAudio` and one `OutboundAudio` per call; never share them across calls.
"""

from __future__ import annotations

import math

import numpy as np

from .framing import FRAME_BYTES, FrameAssembler
from .g711 import UlawTable, audioop
from .resampler import (
    MAX_CHUNK_BYTES,
    PolyphaseResampler,
    make_decimator_24k_to_8k,
    make_upsampler_8k_to_16k,
)

__all__ = ["GEMINI_OUTPUT_RATE", "InboundAudio", "OutboundAudio"]

GEMINI_OUTPUT_RATE = 24_000
_INBOUND_RATES = (8_000, 16_000)


class InboundAudio:
    """Twilio μ-law 8 kHz -> PCM16 LE for Gemini, at 16 kHz (default) or 8 kHz.

    At 8 kHz no resampling happens: Gemini resamples server-side when told the
    rate through `mime_type` (audio/pcm;rate=8000).
    """

    def __init__(self, rate: int = 16_000) -> None:
        if rate not in _INBOUND_RATES:
            raise ValueError(f"inbound rate must be one of {_INBOUND_RATES}, got {rate}")
        self.rate = rate
        self.mime_type = f"audio/pcm;rate={rate}"
        # a Twilio frame: FRAME_BYTES μ-law bytes, one byte per sample
        self._upsampler = make_upsampler_8k_to_16k(frame_in=FRAME_BYTES) if rate == 16_000 else None

    @property
    def latency_s(self) -> float:
        """Algorithmic delay added (filter group delay; 20 ms frames are never held)."""
        return self._upsampler.group_delay_s if self._upsampler else 0.0

    def process(self, ulaw: bytes) -> bytes:
        pcm = audioop.ulaw2lin(ulaw, 2)
        upsampler = self._upsampler
        if upsampler is None:
            return pcm
        # a 20 ms frame (every Twilio message): the resampler's prepared path
        out = upsampler.filter_frame(pcm)
        return upsampler.process(pcm) if out is None else out

    def reset(self) -> None:
        if self._upsampler is not None:
            self._upsampler.reset()


class OutboundAudio:
    """Gemini PCM16 LE 24 kHz -> list of 160-byte (20 ms) μ-law frames for Twilio."""

    def __init__(self, frame_bytes: int = FRAME_BYTES) -> None:
        self._decimator = make_decimator_24k_to_8k()
        self._framer = FrameAssembler(frame_bytes)
        self._ulaw = _ulaw_table_for(self._decimator)

    @property
    def latency_s(self) -> float:
        """Filter group delay; chunks that are not 2 ms multiples also wait < 2 ms."""
        return self._decimator.group_delay_s

    def process(self, pcm24k: bytes) -> list[bytes]:
        decimator = self._decimator
        if len(pcm24k) & 1 or len(pcm24k) > MAX_CHUNK_BYTES or decimator.has_odd_byte:
            pcm8k = decimator.process(pcm24k)  # rare: split samples or huge chunks
            return self._framer.push(audioop.lin2ulaw(pcm8k, 2)) if pcm8k else []
        workspace = decimator.filter_blocks(pcm24k)
        if workspace is None:
            return []
        # float -> μ-law in one table lookup: same codes as clip + int16 + lin2ulaw
        return self._framer.push(self._ulaw.encode(workspace[2]))

    def flush(self) -> list[bytes]:
        """End of turn: drain the filter, pad the last frame with silence, reset."""
        tail = self._decimator.flush()
        frames = self._framer.push(audioop.lin2ulaw(tail, 2)) if tail else []
        return frames + self._framer.flush()

    def reset(self) -> None:
        """Barge-in: drop everything not yet emitted (send Twilio `clear` too)."""
        self._decimator.reset()
        self._framer.clear()


def _ulaw_table_for(resampler: PolyphaseResampler) -> UlawTable:
    """A table wide enough for the filter's worst-case overshoot of a full-scale input."""
    gain_bound = float(np.abs(resampler.taps).sum())  # |output| <= sum|h| * max|input|
    return UlawTable(32768 * max(1, math.ceil(gain_bound + 1e-3)))
