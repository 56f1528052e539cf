"""Streaming behaviour: chunking invariance, flush, reset, exactness of the block kernel."""

from __future__ import annotations

import random

import numpy as np
import pytest

from services.bridge.audio import PolyphaseResampler, make_decimator_24k_to_8k, make_upsampler_8k_to_16k

from .signals import from_pcm16, to_pcm16

FACTORIES = {"up_8k_16k": make_upsampler_8k_to_16k, "down_24k_8k": make_decimator_24k_to_8k}


def noise_pcm(seconds: float, rate: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    return to_pcm16(rng.normal(0, 6000, int(rate * seconds)))


def feed_in_random_chunks(resampler: PolyphaseResampler, data: bytes, seed: int, max_bytes: int) -> bytes:
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(data):
        size = rng.choice([0, 1, 3, rng.randint(1, max_bytes)])  # odd sizes split samples
        out.append(resampler.process(data[i : i + size]))
        i += size
    return b"".join(out)


@pytest.mark.parametrize("name", FACTORIES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_chunking_equals_one_shot(name: str, seed: int) -> None:
    make = FACTORIES[name]
    rate = make().input_rate
    data = noise_pcm(1.3, rate, seed)
    one_shot = from_pcm16(make().process(data))  # also exercises the >4096-sample slicing
    streamed = from_pcm16(feed_in_random_chunks(make(), data, seed, max_bytes=3000))
    assert len(streamed) == len(one_shot)
    # same arithmetic per output sample; BLAS may round the last float bit differently
    assert np.max(np.abs(streamed - one_shot)) <= 1


@pytest.mark.parametrize("name", FACTORIES)
def test_block_kernel_matches_direct_convolution(name: str) -> None:
    resampler = FACTORIES[name]()
    data = noise_pcm(0.25, resampler.input_rate, seed=9)
    out = from_pcm16(resampler.process(data))
    x = from_pcm16(data)
    stuffed = np.zeros(len(x) * resampler.up)
    stuffed[:: resampler.up] = x
    direct = np.convolve(stuffed, resampler.taps)[:: resampler.down][: len(out)]
    assert np.max(np.abs(out - np.clip(direct, -32768, 32767))) <= 1.0


@pytest.mark.parametrize("name", FACTORIES)
def test_output_count_follows_whole_blocks(name: str) -> None:
    resampler = FACTORIES[name]()
    produced = 0
    for samples in (5, 100, 3, 1000, 47):
        produced += len(resampler.process(bytes(2 * samples))) // 2
        assert produced == resampler.samples_in // resampler.block_in * resampler.block_out
        assert produced == resampler.samples_out


@pytest.mark.parametrize("name", FACTORIES)
def test_flush_emits_the_whole_filter_tail_and_resets(name: str) -> None:
    make = FACTORIES[name]
    resampler = make()
    data = noise_pcm(0.0371, resampler.input_rate, seed=4)  # not a whole number of blocks
    first = resampler.process(data) + resampler.flush()
    n_in = len(data) // 2
    expected = ((n_in - 1) * resampler.up + len(resampler.taps) - 1) // resampler.down + 1
    assert len(first) // 2 == expected
    x = from_pcm16(data)
    stuffed = np.zeros(n_in * resampler.up)
    stuffed[:: resampler.up] = x
    full = np.convolve(stuffed, resampler.taps)[:: resampler.down]
    assert np.max(np.abs(from_pcm16(first) - full[:expected])) <= 1.0
    # after flush the state is clean: a second identical turn gives identical audio
    assert resampler.process(data) + resampler.flush() == first


@pytest.mark.parametrize("name", FACTORIES)
def test_reset_forgets_history(name: str) -> None:
    make = FACTORIES[name]
    rate = make().input_rate
    used = make()
    used.process(noise_pcm(0.1, rate, seed=5) + b"\x01")  # leaves history, pending and an odd byte
    used.reset()
    fresh_input = noise_pcm(0.1, rate, seed=6)
    assert used.process(fresh_input) == make().process(fresh_input)


def test_flush_without_input_is_empty() -> None:
    assert make_decimator_24k_to_8k().flush() == b""


def test_block_size_must_fit_the_ratio() -> None:
    with pytest.raises(ValueError):
        make_decimator_24k_to_8k(block_in=50)


def test_instances_do_not_share_state() -> None:
    a, b = make_upsampler_8k_to_16k(), make_upsampler_8k_to_16k()
    loud = noise_pcm(0.02, 8_000, seed=7)
    a.process(loud)
    silence = bytes(320)
    assert b.process(silence) == bytes(640)
    assert a.process(silence) != bytes(640)  # a still rings from its own history


def test_instances_share_one_read_only_kernel() -> None:
    a, b = make_upsampler_8k_to_16k(), make_upsampler_8k_to_16k()
    assert a._kernel is b._kernel  # one copy in the CPU cache however many calls
    with pytest.raises(ValueError):
        a._kernel[0, 0] = 1.0
    assert make_upsampler_8k_to_16k(block_in=32)._kernel.shape != a._kernel.shape  # keyed by design
    assert make_decimator_24k_to_8k()._kernel is not a._kernel
