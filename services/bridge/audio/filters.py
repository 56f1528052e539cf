"""Kaiser-windowed sinc low-pass design (numpy only, no scipy at runtime).

Same method as `scipy.signal.kaiserord` + `firwin(window=("kaiser", beta))`:
length and beta from the attenuation and transition width, cutoff in the middle
of the transition band, DC gain normalised to `gain`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DECIMATE_24K_TO_8K",
    "UPSAMPLE_8K_TO_16K",
    "LowpassSpec",
    "design_lowpass",
    "kaiser_beta",
    "kaiser_length",
]


@dataclass(frozen=True)
class LowpassSpec:
    """A low-pass FIR that runs at `sample_rate` (the high rate of the resampler)."""

    sample_rate: int
    pass_hz: float
    stop_hz: float
    atten_db: float
    tap_multiple: int  # the polyphase factor: taps rounded up to a multiple of it
    gain: float = 1.0  # an upsampler by U needs gain U to keep the level

    @property
    def cutoff_hz(self) -> float:
        return (self.pass_hz + self.stop_hz) / 2


# Images of 0–4 kHz mirror around 4 kHz, so a transition centred on 4 kHz is the
# natural choice: 3.4 kHz (PSTN band edge) passes, its image at 4.6 kHz is stopped.
UPSAMPLE_8K_TO_16K = LowpassSpec(
    sample_rate=16_000, pass_hz=3_400, stop_hz=4_600, atten_db=80, tap_multiple=2, gain=2.0
)

# Gemini's 24 kHz speech has strong sibilant energy at 4–8 kHz. Everything above
# 4.4 kHz is stopped at 80 dB; 4.0–4.4 kHz can only fold down to 3.6–4.0 kHz,
# above the telephone band. 123 taps = 2.5 ms group delay.
DECIMATE_24K_TO_8K = LowpassSpec(
    sample_rate=24_000, pass_hz=3_400, stop_hz=4_400, atten_db=80, tap_multiple=3
)


def kaiser_beta(atten_db: float) -> float:
    if atten_db > 50:
        return 0.1102 * (atten_db - 8.7)
    if atten_db >= 21:
        return 0.5842 * (atten_db - 21) ** 0.4 + 0.07886 * (atten_db - 21)
    return 0.0


def kaiser_length(atten_db: float, width_hz: float, sample_rate: float) -> int:
    """Taps needed for `atten_db` with a transition `width_hz` wide (Kaiser's formula)."""
    width = 2 * math.pi * width_hz / sample_rate
    return math.ceil((atten_db - 7.95) / (2.285 * width) + 1)


def design_lowpass(spec: LowpassSpec) -> np.ndarray:
    """Return the float64 taps of the linear-phase low-pass described by `spec`."""
    numtaps = kaiser_length(spec.atten_db, spec.stop_hz - spec.pass_hz, spec.sample_rate)
    numtaps = -(-numtaps // spec.tap_multiple) * spec.tap_multiple
    normalized_cutoff = 2 * spec.cutoff_hz / spec.sample_rate
    centre = (numtaps - 1) / 2
    t = np.arange(numtaps) - centre
    taps = normalized_cutoff * np.sinc(normalized_cutoff * t)
    taps *= np.kaiser(numtaps, kaiser_beta(spec.atten_db))
    return taps * (spec.gain / taps.sum())
