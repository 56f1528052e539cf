"""G.711 μ-law <-> PCM16 (little-endian, mono) via audioop.

`audioop` is in the stdlib up to Python 3.12; on 3.13+ the `audioop-lts` package
provides a bit-identical module under the same name.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

__all__ = ["ULAW_SILENCE", "audioop", "pcm16_to_ulaw", "ulaw_to_pcm16"]

# μ-law code for 0 (positive zero); what Twilio plays as silence.
ULAW_SILENCE = 0xFF


def ulaw_to_pcm16(ulaw: bytes) -> bytes:
    """Decode μ-law bytes to PCM16 LE (two bytes per input byte)."""
    return audioop.ulaw2lin(ulaw, 2)


def pcm16_to_ulaw(pcm: bytes) -> bytes:
    """Encode PCM16 LE to μ-law (one byte per sample); values saturate per G.711."""
    return audioop.lin2ulaw(pcm, 2)
