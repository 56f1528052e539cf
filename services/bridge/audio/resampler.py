"""Stateful polyphase FIR resampler for PCM16 streams (numpy + BLAS).

Output sample n is  y[n] = sum_i x[i] * h[n*down - i*up]  (zero-stuff by `up`,
low-pass `h`, keep every `down`-th). The input is cut into blocks of `block_in`
samples, each producing `block_out = block_in*up/down` outputs. For one block
that sum is a fixed linear map from the block plus `history` preceding samples,
so every call is: gather the overlapping windows (one strided int16->float32
copy), one small matrix product against a precomputed block-Toeplitz kernel,
one cast back to int16 (plus a clip, only when the input window is loud
enough for the filter's overshoot to leave the int16 range). All arrays are
preallocated views; the per-call cost is three or four numpy calls whatever
the filter length, which is what matters at 20 ms frames where numpy's
per-call overhead dominates the arithmetic. `filter_blocks` exposes the float
output for callers that encode it themselves (OutboundAudio's μ-law table);
`filter_frame` is `process` for one fixed input size (the 20 ms caller frame)
with every view and slice prepared at construction, where the Python glue
around those numpy calls costs as much as the calls themselves.

Output depends only on the absolute sample position, never on how the input was
chunked: streaming equals one-shot up to float32 rounding inside BLAS. Input
that does not complete a block waits for the next call (at most block_in - 1
samples); `flush()` drains it and the filter tail at end of turn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .filters import DECIMATE_24K_TO_8K, UPSAMPLE_8K_TO_16K, design_lowpass
from .g711 import audioop

__all__ = [
    "PolyphaseResampler",
    "block_kernel",
    "make_decimator_24k_to_8k",
    "make_upsampler_8k_to_16k",
]

# The clip ufunc itself, with 0-d float32 bounds, costs ~0.5 us per call where
# np.clip's Python wrapper plus scalar conversion costs 1-3 us; at 20 ms frames
# that difference is a third of the resampler's budget.
try:
    from numpy._core.umath import clip as _clip  # the ufunc np.clip wraps
except ImportError:  # pragma: no cover - private location moved
    _clip = np.clip
_PCM16_MIN = np.array(-32768, dtype=np.float32)
_PCM16_MAX = np.array(32767, dtype=np.float32)
_MAX_CHUNK_SAMPLES = 4096  # longer inputs are processed in slices of this size
MAX_CHUNK_BYTES = 2 * _MAX_CHUNK_SAMPLES


def block_kernel(
    taps: np.ndarray, up: int, down: int, history: int, block_in: int, block_out: int
) -> np.ndarray:
    """Matrix K with  block_outputs = window @ K,  window = history + block_in inputs."""
    column = np.arange(history + block_in)[:, None]
    output = np.arange(block_out)[None, :]
    tap_index = output * down - (column - history) * up
    inside = (tap_index >= 0) & (tap_index < len(taps))
    return np.where(inside, taps[np.clip(tap_index, 0, len(taps) - 1)], 0.0)


_KERNELS: dict[tuple[bytes, int, int, int, int, int], np.ndarray] = {}


def _shared_kernel(
    taps: np.ndarray, up: int, down: int, history: int, block_in: int, block_out: int
) -> np.ndarray:
    """One read-only float32 kernel per design, shared by every call's resampler: with
    hundreds of calls a kernel each (6-11 KB) would crowd the CPU cache, one stays in it."""
    key = (taps.tobytes(), up, down, history, block_in, block_out)
    kernel = _KERNELS.get(key)
    if kernel is None:
        kernel = np.ascontiguousarray(block_kernel(taps, up, down, history, block_in, block_out), np.float32)
        kernel.flags.writeable = False
        _KERNELS[key] = kernel
    return kernel


class PolyphaseResampler:
    """Rational resampler by up/down for PCM16 LE mono bytes. One per call per direction."""

    def __init__(
        self, taps: np.ndarray, up: int, down: int, block_in: int, input_rate: int, frame_in: int = 0
    ) -> None:
        if (block_in * up) % down:
            raise ValueError("block_in * up must be a multiple of down")
        if frame_in % block_in or not 0 <= frame_in <= _MAX_CHUNK_SAMPLES:
            raise ValueError(f"frame_in must be a multiple of block_in up to {_MAX_CHUNK_SAMPLES}")
        self.up, self.down, self.input_rate = up, down, input_rate
        self.taps = np.asarray(taps, dtype=np.float64)
        self.history = -(-(len(taps) - 1) // up)
        self.block_in, self.block_out = block_in, block_in * up // down
        self._kernel = _shared_kernel(self.taps, up, down, self.history, block_in, self.block_out)
        # |output| <= peak input * largest column L1 norm; 0.1% covers float32 rounding
        gain_bound = float(np.abs(self._kernel).sum(axis=0, dtype=np.float64).max())
        self._peak_without_clipping = int(32767 / (gain_bound * 1.001))
        max_blocks = -(-_MAX_CHUNK_SAMPLES // block_in) + 1
        self._buffer = np.zeros(self.history + max_blocks * block_in, dtype=np.int16)
        self._buffer_bytes = memoryview(self._buffer).cast("B")
        self._shared = (
            np.empty((max_blocks, self.history + block_in), dtype=np.float32),  # windows
            np.empty((max_blocks, self.block_out), dtype=np.float32),  # product
            np.empty((max_blocks, self.block_out), dtype=np.int16),  # pcm_out
        )
        self._workspaces: dict[int, tuple[np.ndarray, ...]] = {}
        self.frame_bytes = 2 * frame_in
        self._frame = self._frame_path(frame_in) if frame_in else None
        self.reset()

    @property
    def group_delay_s(self) -> float:
        """Delay added by the linear-phase filter, in seconds."""
        return (len(self.taps) - 1) / 2 / (self.input_rate * self.up)

    def reset(self) -> None:
        """Forget all input (barge-in / new turn). Costs nothing per sample."""
        self._buffer[: self.history] = 0
        self._fill = 2 * self.history  # byte offset where the next input goes
        self._odd_byte = b""
        self.samples_in = 0

    @property
    def has_odd_byte(self) -> bool:
        """True when half a sample from the last call waits for its other byte."""
        return bool(self._odd_byte)

    @property
    def samples_out(self) -> int:
        held = self._fill // 2 - self.history
        return (self.samples_in - held) // self.block_in * self.block_out

    def process(self, pcm: bytes) -> bytes:
        """Feed PCM16 bytes; return all output samples now computable (may be b"")."""
        if self._odd_byte or len(pcm) & 1:
            pcm = self._whole_samples(pcm)
        if len(pcm) > MAX_CHUNK_BYTES:
            slices = range(0, len(pcm), MAX_CHUNK_BYTES)
            return b"".join(self.process(pcm[i : i + MAX_CHUNK_BYTES]) for i in slices)
        workspace = self.filter_blocks(pcm, saturate=True)
        if workspace is None:
            return b""
        pcm_out = workspace[3]
        pcm_out[...] = workspace[2]  # float32 -> int16 truncates: <1 LSB, far below μ-law noise
        return pcm_out.tobytes()

    def flush(self) -> bytes:
        """Drain held input and the filter tail (end of turn), then reset."""
        if self.samples_in == 0:
            self.reset()
            return b""
        last_output = ((self.samples_in - 1) * self.up + len(self.taps) - 1) // self.down
        remaining = last_output + 1 - self.samples_out
        held = self._fill // 2 - self.history
        zeros = max(0, -(-remaining // self.block_out) * self.block_in - held)
        tail = self.process(bytes(2 * zeros))[: 2 * remaining]
        self.reset()
        return tail

    def _whole_samples(self, pcm: bytes) -> bytes:
        pcm = self._odd_byte + pcm
        self._odd_byte = pcm[-1:] if len(pcm) & 1 else b""
        return pcm[: len(pcm) & ~1]

    def filter_blocks(self, pcm: bytes, saturate: bool = False) -> tuple[np.ndarray, ...] | None:
        """Append whole samples (even length, at most MAX_CHUNK_BYTES, no odd byte
        pending) and filter every block now complete.

        Returns the workspace (windows_int, windows, product, pcm_out), reused by
        the next call with as many blocks, whose float32 `product` (blocks, block_out)
        holds the new output; None when no block completed. `process` is this plus
        the int16 cast; callers that encode floats themselves skip that cast.
        `saturate` clips `product` to the int16 range, but only when the input
        window is loud enough for the filter's overshoot to reach it.
        """
        start = self._fill
        end = start + len(pcm)
        buffer_bytes = self._buffer_bytes
        buffer_bytes[start:end] = pcm
        self.samples_in += len(pcm) >> 1
        blocks = ((end >> 1) - self.history) // self.block_in
        if not blocks:
            self._fill = end
            return None
        workspace = self._workspaces.get(blocks) or self._make_workspace(blocks)
        windows_int, windows, product, _ = workspace
        windows[...] = windows_int  # int16 -> float32; faster than np.copyto(casting=)
        windows.dot(self._kernel, product)  # the method skips np.dot's dispatch: ~0.3 us less
        # audioop.max is one C scan of the samples the windows cover: cheaper than the clip
        if saturate and audioop.max(buffer_bytes[:end], 2) > self._peak_without_clipping:
            _clip(product, _PCM16_MIN, _PCM16_MAX, product)
        consumed = 2 * blocks * self.block_in
        buffer_bytes[: end - consumed] = buffer_bytes[consumed:end]
        self._fill = end - consumed
        return workspace

    def filter_frame(self, pcm: bytes) -> bytes | None:
        """`process(pcm)` for exactly `frame_bytes` of whole samples, when no input is
        held back (always, for a stream of such frames); None otherwise: call `process`.

        Same arrays and numpy calls as `filter_blocks` + the cast, so the same output
        bit for bit; only the Python around them is gone (offsets, workspace lookup,
        slices: all prepared in `_frame_path`).
        """
        frame = self._frame
        if frame is None or self._fill != frame.start or len(pcm) != self.frame_bytes:
            return None
        frame.input_slot[:] = pcm
        windows = frame.windows
        windows[...] = frame.windows_int
        product = frame.product
        windows.dot(self._kernel, product)
        if audioop.max(frame.window_bytes, 2) > self._peak_without_clipping:
            _clip(product, _PCM16_MIN, _PCM16_MAX, product)
        frame.pcm_out[...] = product
        frame.history_slot[:] = frame.history_source  # the frame's tail is the next history
        self.samples_in += frame.samples
        return frame.pcm_out_bytes.tobytes()  # the memoryview's method: ~40 ns under ndarray's

    def _frame_path(self, frame_in: int) -> _FramePath:
        start, end = 2 * self.history, 2 * (self.history + frame_in)
        windows_int, windows, product, pcm_out = self._make_workspace(frame_in // self.block_in)
        buffer_bytes = self._buffer_bytes
        return _FramePath(
            samples=frame_in,
            start=start,
            input_slot=buffer_bytes[start:end],
            window_bytes=buffer_bytes[:end],
            history_slot=buffer_bytes[:start],
            history_source=buffer_bytes[end - start : end],
            windows_int=windows_int,
            windows=windows,
            product=product,
            pcm_out=pcm_out,
            pcm_out_bytes=memoryview(pcm_out).cast("B"),
        )

    def _make_workspace(self, blocks: int) -> tuple[np.ndarray, ...]:
        """Views of the first `blocks` rows of the shared arrays, built once per count.

        Every chunk size shares the same memory, so irregular chunking (a new block
        count per call) keeps the working set small and cache-resident.
        """
        width = self.history + self.block_in
        step = self._buffer.strides[0]
        windows_int = as_strided(
            self._buffer, shape=(blocks, width), strides=(self.block_in * step, step), writeable=False
        )
        windows, product, pcm_out = (array[:blocks] for array in self._shared)
        self._workspaces[blocks] = (windows_int, windows, product, pcm_out)
        return self._workspaces[blocks]


@dataclass(frozen=True, slots=True)
class _FramePath:
    """Everything `filter_frame` touches, sliced once: offsets in bytes of the buffer."""

    samples: int
    start: int  # where a frame goes: after the history, nothing held back
    input_slot: memoryview
    window_bytes: memoryview  # history + frame: the samples the windows cover
    history_slot: memoryview
    history_source: memoryview  # the frame's last `history` samples
    windows_int: np.ndarray
    windows: np.ndarray
    product: np.ndarray
    pcm_out: np.ndarray
    pcm_out_bytes: memoryview


# Designed once at import; every call shares the (read-only) taps.
_TAPS = {spec: design_lowpass(spec) for spec in (UPSAMPLE_8K_TO_16K, DECIMATE_24K_TO_8K)}


def make_upsampler_8k_to_16k(block_in: int = 16, frame_in: int = 160) -> PolyphaseResampler:
    """8 kHz -> 16 kHz, 68 taps, 2.1 ms delay. 16-sample (2 ms) blocks divide 20 ms frames;
    `filter_frame` takes `frame_in` samples (Twilio's 20 ms)."""
    return PolyphaseResampler(
        _TAPS[UPSAMPLE_8K_TO_16K], 2, 1, block_in, input_rate=8_000, frame_in=frame_in
    )


def make_decimator_24k_to_8k(block_in: int = 48) -> PolyphaseResampler:
    """24 kHz -> 8 kHz, 123 taps, 2.5 ms delay, plus < 2 ms held when chunks are not 2 ms multiples."""
    return PolyphaseResampler(_TAPS[DECIMATE_24K_TO_8K], 1, 3, block_in, input_rate=24_000)
