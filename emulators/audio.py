"""Pure audio codecs shared by the emulators (no I/O apart from ``write_wav``).

* G.711 mu-law <-> PCM16 (bit-exact with the stdlib ``audioop``; table driven).
* Linear-interpolation resampling (good enough for an emulator's VAD / playback model).
* ``speech_like``: a deterministic, speech-shaped test signal for a text (voiced syllable
  bursts with an energy envelope and word gaps). Same text + rate -> same samples, so tests
  know exactly what content and length of audio to expect.
* ``EnergyVad``: frame-energy voice activity detection with start/end sensitivity,
  prefix padding and silence duration, as the Gemini Live ``automaticActivityDetection`` knobs.
"""
from __future__ import annotations

import hashlib
import re
import wave
from dataclasses import dataclass, field

import numpy as np

ULAW_SILENCE = 0xFF
_BIAS = 0x84


def _build_ulaw_decode() -> np.ndarray:
    codes = (~np.arange(256, dtype=np.int32)) & 0xFF
    sign, exponent, mantissa = codes & 0x80, (codes >> 4) & 0x07, codes & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _build_ulaw_encode() -> np.ndarray:
    """G.711 encoder on the 14-bit magnitude, exactly as CPython's audioop does it."""
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 2
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(pcm), 8159) + 0x21
    seg_ends = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
    seg = np.searchsorted(seg_ends, mag)
    mantissa = (mag >> (seg + 1)) & 0x0F
    uval = np.where(seg >= 8, 0x7F, (seg << 4) | mantissa)
    return (uval ^ mask).astype(np.uint8)


ULAW_TO_PCM = _build_ulaw_decode()
PCM_TO_ULAW = _build_ulaw_encode()


def ulaw_to_pcm16(data: bytes) -> np.ndarray:
    """Decode mu-law bytes to an int16 array."""
    return ULAW_TO_PCM[np.frombuffer(data, dtype=np.uint8)]


def pcm16_to_ulaw(samples: np.ndarray) -> bytes:
    """Encode int16 samples to mu-law bytes."""
    idx = samples.astype(np.int32) + 32768
    return PCM_TO_ULAW[idx].tobytes()


def pcm16_from_bytes(data: bytes) -> np.ndarray:
    """Little-endian PCM16 bytes -> int16 array (a trailing odd byte is dropped)."""
    return np.frombuffer(data[: len(data) - len(data) % 2], dtype="<i2")


def resample(samples: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Stateless linear-interpolation resampling of int16 samples."""
    if src_rate == dst_rate or len(samples) == 0:
        return samples.astype(np.int16)
    n_out = int(round(len(samples) * dst_rate / src_rate))
    x_out = np.arange(n_out) * (src_rate / dst_rate)
    out = np.interp(x_out, np.arange(len(samples)), samples.astype(np.float64))
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def rms_dbfs(samples: np.ndarray) -> float:
    """RMS level in dBFS (-120 for digital silence)."""
    if len(samples) == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    return 20 * np.log10(rms / 32768) if rms > 0 else -120.0


# ---------------------------------------------------------------- speech-like signal

WORD_GAP_S = 0.06
SYLLABLE_S = 0.16


def _syllables(word: str) -> int:
    return max(1, len(re.findall(r"[aeiouy]+", word.lower())))


def speech_duration(text: str, rate: int = 8000) -> float:
    """Exact duration in seconds of ``speech_like(text, rate)``."""
    return len(speech_like(text, rate)) / rate


def _word_seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def _syllable(f0: float, n: int, rate: int, level: float) -> np.ndarray:
    t = np.arange(n) / rate
    harmonics = [1.0, 0.6, 0.35, 0.2, 0.1]
    wave_ = sum(a * np.sin(2 * np.pi * f0 * (k + 1) * t) for k, a in enumerate(harmonics))
    envelope = np.sin(np.pi * np.arange(n) / n) ** 0.6
    return level * wave_ / sum(harmonics) * envelope


def speech_like(text: str, rate: int = 8000, level: float = 0.35) -> np.ndarray:
    """Deterministic speech-shaped int16 signal for ``text``.

    One voiced burst (five harmonics under a sine envelope) per syllable, a short gap
    between words; f0 is derived from a hash of the text (90-220 Hz), so the same text
    always yields the same samples.
    """
    words = text.split() or ["..."]
    f0 = 90 + _word_seed(text) % 130
    syl_n, gap_n = int(SYLLABLE_S * rate), int(WORD_GAP_S * rate)
    pieces: list[np.ndarray] = []
    for i, word in enumerate(words):
        for s in range(_syllables(word)):
            pitch = f0 * (1.0 + 0.08 * np.sin(i + s))
            pieces.append(_syllable(pitch, syl_n, rate, level))
        pieces.append(np.zeros(gap_n))
    signal = np.concatenate(pieces)
    return np.round(signal * 32767).astype(np.int16)


# ---------------------------------------------------------------- VAD

START_THRESHOLDS_DBFS = {"START_SENSITIVITY_HIGH": -50.0, "START_SENSITIVITY_LOW": -38.0}
END_THRESHOLDS_DBFS = {"END_SENSITIVITY_HIGH": -40.0, "END_SENSITIVITY_LOW": -52.0}
START_MIN_MS = {"START_SENSITIVITY_HIGH": 40, "START_SENSITIVITY_LOW": 100}


@dataclass
class VadConfig:
    """Server-side VAD knobs (names as in ``automaticActivityDetection``)."""

    start_sensitivity: str = "START_SENSITIVITY_HIGH"
    end_sensitivity: str = "END_SENSITIVITY_HIGH"
    prefix_padding_ms: int = 20
    silence_duration_ms: int = 500
    frame_ms: int = 20

    @property
    def start_db(self) -> float:
        return START_THRESHOLDS_DBFS.get(self.start_sensitivity, -50.0)

    @property
    def end_db(self) -> float:
        return END_THRESHOLDS_DBFS.get(self.end_sensitivity, -40.0)

    @property
    def start_ms(self) -> int:
        return max(self.prefix_padding_ms, START_MIN_MS.get(self.start_sensitivity, 40))


@dataclass
class EnergyVad:
    """Energy VAD over fixed frames of audio time. ``feed`` returns events.

    Events are ``("start", t)`` when speech has lasted ``start_ms`` and ``("end", t)``
    after ``silence_duration_ms`` of frames below the end threshold; ``t`` is in seconds
    of audio time since the first fed sample.
    """

    config: VadConfig = field(default_factory=VadConfig)
    speaking: bool = False
    _buf: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    _rate: int = 16000
    _t: float = 0.0
    _voiced_ms: int = 0
    _silent_ms: int = 0

    def feed(self, samples: np.ndarray, rate: int) -> list[tuple[str, float]]:
        if rate != self._rate:
            self._buf, self._rate = np.zeros(0, dtype=np.int16), rate
        self._buf = np.concatenate([self._buf, samples])
        n = rate * self.config.frame_ms // 1000
        events: list[tuple[str, float]] = []
        while len(self._buf) >= n:
            frame, self._buf = self._buf[:n], self._buf[n:]
            self._t += n / rate
            event = self._step(rms_dbfs(frame))
            if event:
                events.append((event, self._t))
        return events

    def _step(self, level: float) -> str | None:
        ms = self.config.frame_ms
        if not self.speaking:
            self._voiced_ms = self._voiced_ms + ms if level > self.config.start_db else 0
            if self._voiced_ms >= self.config.start_ms:
                self.speaking, self._silent_ms = True, 0
                return "start"
            return None
        self._silent_ms = self._silent_ms + ms if level < self.config.end_db else 0
        if self._silent_ms >= self.config.silence_duration_ms:
            self.speaking, self._voiced_ms = False, 0
            return "end"
        return None

    def force_end(self) -> bool:
        """End an ongoing utterance (audioStreamEnd). True if one was open."""
        was = self.speaking
        self.speaking, self._voiced_ms, self._silent_ms = False, 0, 0
        return was


# ---------------------------------------------------------------- WAV

def write_wav(path: str, samples: np.ndarray, rate: int) -> str:
    """Write mono PCM16 samples as a standard WAV file; returns the path."""
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return path
