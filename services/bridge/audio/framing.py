"""Cut an outbound μ-law stream into whole 20 ms Twilio frames."""

from __future__ import annotations

from .g711 import ULAW_SILENCE

__all__ = ["FRAME_BYTES", "FrameAssembler"]

FRAME_BYTES = 160  # 20 ms of μ-law at 8 kHz


class FrameAssembler:
    """Emits only whole frames; keeps the remainder (< frame_bytes) for the next push."""

    def __init__(self, frame_bytes: int = FRAME_BYTES) -> None:
        self.frame_bytes = frame_bytes
        self._remainder = b""

    @property
    def pending(self) -> int:
        """Bytes held back because they do not fill a frame yet."""
        return len(self._remainder)

    def push(self, ulaw: bytes) -> list[bytes]:
        if self._remainder:
            ulaw = self._remainder + ulaw
        size = self.frame_bytes
        whole = len(ulaw) - len(ulaw) % size
        self._remainder = ulaw[whole:]
        # one or two frames is the usual case: skip the list comprehension's frame
        if whole == size:
            return [ulaw[:size]]
        if whole == 2 * size:
            return [ulaw[:size], ulaw[size:whole]]
        return [ulaw[i : i + size] for i in range(0, whole, size)]

    def flush(self) -> list[bytes]:
        """End of turn: pad the partial frame with μ-law silence and emit it."""
        if not self._remainder:
            return []
        frame = self._remainder.ljust(self.frame_bytes, bytes((ULAW_SILENCE,)))
        self._remainder = b""
        return [frame]

    def clear(self) -> None:
        """Barge-in: drop the partial frame."""
        self._remainder = b""
