"""G.711 μ-law <-> PCM16 (little-endian, mono) via audioop.

`audioop` is in the stdlib up to Python 3.12; on 3.13+ the `audioop-lts` package
provides a bit-identical module under the same name.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

__all__ = ["ULAW_SILENCE", "UlawTable", "audioop", "pcm16_to_ulaw", "ulaw_to_pcm16"]

# μ-law code for 0 (positive zero); what Twilio plays as silence.
ULAW_SILENCE = 0xFF


def ulaw_to_pcm16(ulaw: bytes) -> bytes:
    """Decode μ-law bytes to PCM16 LE (two bytes per input byte)."""
    return audioop.ulaw2lin(ulaw, 2)


def pcm16_to_ulaw(pcm: bytes) -> bytes:
    """Encode PCM16 LE to μ-law (one byte per sample); values saturate per G.711."""
    return audioop.lin2ulaw(pcm, 2)


class UlawTable:
    """μ-law encoder for float samples in one lookup: code = table[int(sample)].

    Equals `pcm16_to_ulaw` of the samples truncated toward zero and saturated to
    int16, for every |sample| < `limit`. The table holds a code for each integer
    in [-limit, limit), negatives at the end (numpy's Python-style negative
    indexing), so saturation costs nothing. The caller must guarantee
    |sample| < limit (OutboundAudio sizes it from the filter's L1 norm, a hard
    bound on its output); beyond 2*limit `take` raises IndexError, between limit
    and 2*limit the code would be wrong. Size: 2*limit bytes (128 KiB at 2x full scale).
    """

    def __init__(self, limit: int) -> None:
        values = np.concatenate([np.arange(limit), np.arange(-limit, 0)])
        pcm = np.clip(values, -32768, 32767).astype(np.int16)
        self.limit = limit
        self.codes = np.frombuffer(audioop.lin2ulaw(pcm.tobytes(), 2), dtype=np.uint8).copy()
        self._flat_indices = np.empty(0, dtype=np.intp)
        self._indices: dict[tuple[int, ...], np.ndarray] = {}

    def encode(self, samples: np.ndarray) -> bytes:
        """μ-law bytes of float `samples` (any shape, C order)."""
        indices = self._indices.get(samples.shape)
        if indices is None:
            indices = self._make_indices(samples.shape)
        indices[...] = samples  # float -> int truncates toward zero, like the int16 path
        return self.codes.take(indices).tobytes()  # mode="raise": bounds-checked, no out= copy

    def _make_indices(self, shape: tuple[int, ...]) -> np.ndarray:
        """An index array for `shape`; all shapes share one buffer (small working set)."""
        size = math.prod(shape)
        if size > len(self._flat_indices):
            self._flat_indices = np.empty(size, dtype=np.intp)
            self._indices.clear()
        self._indices[shape] = self._flat_indices[:size].reshape(shape)
        return self._indices[shape]
