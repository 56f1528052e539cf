"""Per-call audio pipelines between Twilio (μ-law 8 kHz) and Gemini Live (PCM16).

One `InboundAudio` and one `OutboundAudio` per call; never share them across calls.
"""

from __future__ import annotations

from .framing import FRAME_BYTES, FrameAssembler
from .g711 import audioop
from .resampler import make_decimator_24k_to_8k, make_upsampler_8k_to_16k

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
        self._upsampler = make_upsampler_8k_to_16k() if rate == 16_000 else None

    @property
    def latency_s(self) -> float:
        """Algorithmic delay added (filter group delay; 20 ms frames are never held)."""
        return self._upsampler.group_delay_s if self._upsampler else 0.0

    def process(self, ulaw: bytes) -> bytes:
        pcm = audioop.ulaw2lin(ulaw, 2)
        if self._upsampler is None:
            return pcm
        return self._upsampler.process(pcm)

    def reset(self) -> None:
        if self._upsampler is not None:
            self._upsampler.reset()


class OutboundAudio:
    """Gemini PCM16 LE 24 kHz -> list of 160-byte (20 ms) μ-law frames for Twilio."""

    def __init__(self, frame_bytes: int = FRAME_BYTES) -> None:
        self._decimator = make_decimator_24k_to_8k()
        self._framer = FrameAssembler(frame_bytes)

    @property
    def latency_s(self) -> float:
        """Filter group delay; chunks that are not 2 ms multiples also wait < 2 ms."""
        return self._decimator.group_delay_s

    def process(self, pcm24k: bytes) -> list[bytes]:
        pcm8k = self._decimator.process(pcm24k)
        if not pcm8k:
            return []
        return self._framer.push(audioop.lin2ulaw(pcm8k, 2))

    def flush(self) -> list[bytes]:
        """End of turn: drain the filter, pad the last frame with silence, reset."""
        tail = self._decimator.flush()
        frames = self._framer.push(audioop.lin2ulaw(tail, 2)) if tail else []
        return frames + self._framer.flush()

    def reset(self) -> None:
        """Barge-in: drop everything not yet emitted (send Twilio `clear` too)."""
        self._decimator.reset()
        self._framer.clear()
