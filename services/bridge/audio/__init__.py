"""Audio DSP for the bridge: G.711 μ-law, polyphase resamplers, 20 ms framing."""

from .filters import DECIMATE_24K_TO_8K, UPSAMPLE_8K_TO_16K, LowpassSpec, design_lowpass
from .framing import FRAME_BYTES, FrameAssembler
from .g711 import ULAW_SILENCE, pcm16_to_ulaw, ulaw_to_pcm16
from .pipeline import GEMINI_OUTPUT_RATE, InboundAudio, OutboundAudio
from .resampler import PolyphaseResampler, make_decimator_24k_to_8k, make_upsampler_8k_to_16k

__all__ = [
    "DECIMATE_24K_TO_8K",
    "FRAME_BYTES",
    "GEMINI_OUTPUT_RATE",
    "ULAW_SILENCE",
    "UPSAMPLE_8K_TO_16K",
    "FrameAssembler",
    "InboundAudio",
    "LowpassSpec",
    "OutboundAudio",
    "PolyphaseResampler",
    "design_lowpass",
    "make_decimator_24k_to_8k",
    "make_upsampler_8k_to_16k",
    "pcm16_to_ulaw",
    "ulaw_to_pcm16",
]
