"""Analytic test signals and measurements shared by the audio tests."""

from __future__ import annotations

import numpy as np

FULL_SCALE = 32768.0


def to_pcm16(samples: np.ndarray) -> bytes:
    return np.clip(np.round(samples), -32768, 32767).astype(np.int16).tobytes()


def from_pcm16(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.int16).astype(np.float64)


def tone(freq_hz: float, rate: int, seconds: float, amplitude: float = 16000.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return amplitude * np.sin(2 * np.pi * freq_hz * t)


def sweep(t: np.ndarray, f0: float, f1: float, duration: float, amplitude: float) -> np.ndarray:
    """Linear sweep f0 -> f1 evaluated at arbitrary times t (seconds), with 50 ms
    raised-cosine fades so its spectrum stays inside [f0, f1] (no step edges)."""
    phase = 2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * duration))
    fade = np.clip(np.minimum(t, duration - t) / 0.05, 0.0, 1.0)
    envelope = 0.5 - 0.5 * np.cos(np.pi * fade)
    inside = (t >= 0) & (t <= duration)
    return np.where(inside, amplitude * envelope * np.sin(phase), 0.0)


def tone_amplitude(signal: np.ndarray, freq_hz: float, rate: int) -> float:
    """Amplitude of one sinusoid, from a DFT over a whole number of its periods
    (the caller picks a segment length where every tested tone is bin-exact)."""
    n = len(signal)
    t = np.arange(n) / rate
    return float(2 * abs(np.dot(signal, np.exp(-2j * np.pi * freq_hz * t))) / n)


def db(ratio: float) -> float:
    return 20 * np.log10(ratio)


def rejection_db(reference: float, leak: float) -> float:
    """How far `leak` is below `reference`; inf when nothing leaked at all (the
    resamplers truncate to int16, so a leak under 1 LSB reads as exactly zero)."""
    return float("inf") if leak == 0 else db(reference / leak)


def snr_db(reference: np.ndarray, actual: np.ndarray) -> float:
    error = actual - reference
    return 10 * np.log10(np.sum(reference**2) / np.sum(error**2))
