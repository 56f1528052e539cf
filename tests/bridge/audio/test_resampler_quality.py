"""Frequency-domain quality of the resamplers, measured on their real PCM16 I/O."""

from __future__ import annotations

import numpy as np
import pytest

from services.bridge.audio import make_decimator_24k_to_8k, make_upsampler_8k_to_16k

from .signals import db, from_pcm16, rejection_db, snr_db, sweep, to_pcm16, tone, tone_amplitude

AMPLITUDE = 16000.0  # -6 dBFS
SETTLE = 0.05  # seconds skipped at the start (filter start-up)
WINDOW = 0.5  # seconds analysed: every tone below has a whole number of periods in it


def steady_segment(output: np.ndarray, rate: int) -> np.ndarray:
    start = int(SETTLE * rate)
    return output[start : start + int(WINDOW * rate)]


def decimate(signal: np.ndarray) -> np.ndarray:
    return from_pcm16(make_decimator_24k_to_8k().process(to_pcm16(signal)))


def upsample(signal: np.ndarray) -> np.ndarray:
    return from_pcm16(make_upsampler_8k_to_16k().process(to_pcm16(signal)))


@pytest.mark.parametrize("freq", [4_500, 5_000, 7_000, 9_000, 11_500])
def test_decimator_rejects_out_of_band_tones_by_60_db(freq: int) -> None:
    out = steady_segment(decimate(tone(freq, 24_000, 1.0, AMPLITUDE)), 8_000)
    alias = abs(((freq + 4_000) % 8_000) - 4_000)  # where 24 kHz content folds to at 8 kHz
    assert rejection_db(AMPLITUDE, tone_amplitude(out, alias, 8_000)) >= 60
    # and nothing else leaks either: whole output RMS against the input RMS
    assert rejection_db(AMPLITUDE / np.sqrt(2), np.sqrt(np.mean(out**2))) >= 60


def test_decimator_7khz_rejection_is_far_below_the_old_ratecv_result() -> None:
    out = steady_segment(decimate(tone(7_000, 24_000, 1.0, AMPLITUDE)), 8_000)
    # audioop.ratecv keeps every third sample here: 0 dB rejection. 80 dB design.
    assert rejection_db(AMPLITUDE, tone_amplitude(out, 1_000, 8_000)) >= 75


@pytest.mark.parametrize("freq", [300, 1_000, 2_000, 3_000, 3_400])
def test_decimator_passband_gain_is_flat(freq: int) -> None:
    out = steady_segment(decimate(tone(freq, 24_000, 1.0, AMPLITUDE)), 8_000)
    assert abs(db(tone_amplitude(out, freq, 8_000) / AMPLITUDE)) < 0.01


@pytest.mark.parametrize("freq", [300, 1_000, 2_000, 3_000, 3_400])
def test_upsampler_rejects_images_by_60_db(freq: int) -> None:
    out = steady_segment(upsample(tone(freq, 8_000, 1.0, AMPLITUDE)), 16_000)
    wanted = tone_amplitude(out, freq, 16_000)
    image = tone_amplitude(out, 8_000 - freq, 16_000)
    assert abs(db(wanted / AMPLITUDE)) < 0.01
    assert rejection_db(wanted, image) >= 60


def sweep_snr(resample, in_rate: int, out_rate: int, delay_s: float) -> float:
    """Sweep 100-3400 Hz through the resampler vs the same analytic sweep sampled
    at the output rate and shifted by the filter's group delay (the ideal
    band-limited resampler's output)."""
    duration = 1.0
    t_in = np.arange(int(in_rate * duration)) / in_rate
    out = resample(sweep(t_in, 100, 3_400, duration, AMPLITUDE))
    t_out = np.arange(len(out)) / out_rate - delay_s
    ideal = sweep(t_out, 100, 3_400, duration, AMPLITUDE)
    middle = slice(int(0.02 * out_rate), int(0.98 * out_rate))
    return snr_db(ideal[middle], out[middle])


def test_decimator_sweep_snr_at_least_60_db() -> None:
    delay = make_decimator_24k_to_8k().group_delay_s
    assert sweep_snr(decimate, 24_000, 8_000, delay) >= 60


def test_upsampler_sweep_snr_at_least_60_db() -> None:
    delay = make_upsampler_8k_to_16k().group_delay_s
    assert sweep_snr(upsample, 8_000, 16_000, delay) >= 60


def test_group_delay_is_within_the_5_ms_budget() -> None:
    assert make_upsampler_8k_to_16k().group_delay_s <= 0.005
    # worst case for the decimator adds input held back to complete a block
    decimator = make_decimator_24k_to_8k()
    held = (decimator.block_in - 1) / decimator.input_rate
    assert decimator.group_delay_s + held <= 0.005


def test_full_scale_square_wave_saturates_instead_of_wrapping() -> None:
    square = np.where(tone(500, 24_000, 0.2, 1.0) >= 0, 32767.0, -32768.0)
    out = decimate(square)
    taps = make_decimator_24k_to_8k().taps
    ideal = np.clip(np.convolve(square, taps)[::3][: len(out)], -32768, 32767)
    assert np.max(np.abs(out - ideal)) <= 1.0
    assert out.max() == 32767 and out.min() == -32768  # the Gibbs overshoot was clipped


def stopband_attenuation_db(taps: np.ndarray, rate: int, stop_hz: float) -> float:
    """Worst attenuation of the designed filter from stop_hz to Nyquist (float, no int16 floor)."""
    response = np.abs(np.fft.rfft(taps / taps.sum(), 1 << 16))
    freqs = np.fft.rfftfreq(1 << 16, 1 / rate)
    return -db(response[freqs >= stop_hz].max())


def test_designed_filters_reach_75_db_in_the_stopband() -> None:
    up, down = make_upsampler_8k_to_16k(), make_decimator_24k_to_8k()
    assert stopband_attenuation_db(up.taps, 16_000, 4_600) >= 75
    assert stopband_attenuation_db(down.taps, 24_000, 4_400) >= 75
