"""CPU cost and added latency of the bridge audio path: ours vs a Pipecat-style reference.

    python -m bench.audio_bench [--reps N] [--json]

Inbound : Twilio JSON text frame -> decode -> μ-law -> PCM16 -> 16 kHz.
Outbound: Gemini 24 kHz PCM16 chunk -> 8 kHz -> μ-law -> 160-byte frames -> JSON text.

Ours      : msgspec codec + audioop μ-law + numpy polyphase FIR (services.bridge.audio).
Reference : built like Pipecat's TwilioFrameSerializer + SOXRStreamAudioResampler:
            stdlib json + base64, audioop μ-law, soxr.ResampleStream(quality="VHQ",
            dtype="int16"), called synchronously. The reference outbound re-frames to
            160 bytes like ours ("ref"); Pipecat itself sends one message per chunk,
            shown as "ref/chunk" for completeness.

Inbound controls: "per-block" is InboundAudio.process as it was before issue 13 (the
general `filter_blocks`, same output); "process alone" rows leave out the JSON decode, and
the round-robin rows feed 100 streams in turn, as the bridge does at 100 calls.

Cost is thread CPU time per 20 ms of audio, median over interleaved repetitions.
Latency = filter group delay (energy centroid of an impulse) + audio withheld by
the stream (mean / max over calls), measured empirically the same way for both.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import statistics
import time
from collections.abc import Callable

import numpy as np
import soxr

from services.bridge.audio import InboundAudio, OutboundAudio
from services.bridge.audio.g711 import audioop
from services.bridge.audio.resampler import make_decimator_24k_to_8k, make_upsampler_8k_to_16k
from services.bridge.codecs import twilio

STREAM_SID = "MZ" + "0123456789abcdef" * 2
FRAME_MS = 20
INBOUND_FRAMES = 250  # 5 s of caller audio per batch
OUTBOUND_SECONDS = 5
MANY_CALLS, MANY_CALLS_FRAMES = 100, 10  # the round-robin rows: 1000 frames per repetition

def chunk_plan(name: str, total: int) -> list[int]:
    """Gemini chunk sizes in 24 kHz samples: fixed 40 / 120 ms, or random 12.5-67.5 ms
    (301-1620 samples, not multiples of the FIR block) to expose held-back audio."""
    if name == "random":
        rng = random.Random(11)
        sizes = []
        while sum(sizes) < total:
            sizes.append(rng.randint(301, 1620))
        return sizes
    size = 24 * int(name.removesuffix(" ms"))
    return [size] * (total // size)


OUTBOUND_CHUNKINGS = ("40 ms", "120 ms", "random")

# ---- workloads ---------------------------------------------------------------


def speech_like(rate: int, seconds: float, seed: int = 7) -> np.ndarray:
    """Harmonics of a wobbling 140 Hz pitch plus broadband noise, int16 at ~-12 dBFS."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    f0 = 140 + 20 * np.sin(2 * np.pi * 3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12) if 140 * k < rate / 2)
    signal = voiced + 0.3 * rng.standard_normal(len(t))
    return (signal / np.abs(signal).max() * 8000).astype(np.int16)


def twilio_media_frames(count: int) -> list[str]:
    ulaw = audioop.lin2ulaw(speech_like(8000, count * FRAME_MS / 1000).tobytes(), 2)
    frames = []
    for i in range(count):
        payload = base64.b64encode(ulaw[i * 160 : (i + 1) * 160]).decode()
        media = {"track": "inbound", "chunk": str(i + 1), "timestamp": str(i * 20), "payload": payload}
        frames.append(json.dumps({"event": "media", "sequenceNumber": str(i + 2), "media": media,
                                  "streamSid": STREAM_SID}))
    return frames


def gemini_chunks(sizes: list[int]) -> list[bytes]:
    pcm = speech_like(24000, OUTBOUND_SECONDS + 0.1).tobytes()
    offsets = np.cumsum([0, *sizes])
    return [pcm[2 * a : 2 * b] for a, b in zip(offsets[:-1], offsets[1:], strict=True)]


# ---- the paths -----------------------------------------------------------------


def ours_inbound(rate: int) -> Callable[[list[str]], None]:
    audio = InboundAudio(rate)

    def run(frames: list[str]) -> None:
        for text in frames:
            message = twilio.decode(text)
            if type(message) is twilio.Media:
                audio.process(message.media.payload)

    return run


def block_path_inbound() -> Callable[[bytes], bytes]:
    """InboundAudio.process as it was before issue 13: the general `filter_blocks`
    (offsets, workspace lookup, slices per call) + the int16 cast. Same output."""
    upsampler = make_upsampler_8k_to_16k()

    def process(ulaw: bytes) -> bytes:
        workspace = upsampler.filter_blocks(audioop.ulaw2lin(ulaw, 2), saturate=True)
        if workspace is None:
            return b""
        _, _, product, pcm_out = workspace
        pcm_out[...] = product
        return pcm_out.tobytes()

    return process


def with_twilio_decode(process: Callable[[bytes], bytes]) -> Callable[[list[str]], None]:
    def run(frames: list[str]) -> None:
        for text in frames:
            message = twilio.decode(text)
            if type(message) is twilio.Media:
                process(message.media.payload)

    return run


def frames_only(process: Callable[[bytes], bytes]) -> Callable[[list[bytes]], None]:
    def run(frames: list[bytes]) -> None:
        for frame in frames:
            process(frame)

    return run


def round_robin(make: Callable[[], Callable[[bytes], bytes]], calls: int) -> Callable[[list[bytes]], None]:
    """`calls` streams, each frame to every call in turn: the bridge's access pattern at
    `calls` concurrent calls, where each call's arrays must come back into the CPU cache."""
    processes = [make() for _ in range(calls)]

    def run(frames: list[bytes]) -> None:
        for frame in frames:
            for process in processes:
                process(frame)

    return run


def reference_inbound() -> Callable[[list[str]], None]:
    stream = soxr.ResampleStream(8000, 16000, 1, dtype="int16", quality="VHQ")

    def run(frames: list[str]) -> None:
        for text in frames:
            message = json.loads(text)
            if message["event"] == "media":
                pcm = audioop.ulaw2lin(base64.b64decode(message["media"]["payload"]), 2)
                stream.resample_chunk(np.frombuffer(pcm, dtype=np.int16)).astype(np.int16).tobytes()

    return run


def ours_outbound() -> Callable[[list[bytes]], None]:
    audio = OutboundAudio()

    def run(chunks: list[bytes]) -> None:
        for chunk in chunks:
            for frame in audio.process(chunk):
                twilio.encode_media(STREAM_SID, frame)

    return run


def reference_outbound(per_frame: bool) -> Callable[[list[bytes]], None]:
    stream = soxr.ResampleStream(24000, 8000, 1, dtype="int16", quality="VHQ")
    remainder = b""

    def send(ulaw: bytes) -> str:
        payload = base64.b64encode(ulaw).decode("utf-8")
        return json.dumps({"event": "media", "streamSid": STREAM_SID, "media": {"payload": payload}})

    def run(chunks: list[bytes]) -> None:
        nonlocal remainder
        for chunk in chunks:
            pcm = stream.resample_chunk(np.frombuffer(chunk, dtype=np.int16)).astype(np.int16).tobytes()
            ulaw = audioop.lin2ulaw(pcm, 2)
            if not per_frame:
                if ulaw:
                    send(ulaw)
                continue
            data = remainder + ulaw
            whole = len(data) - len(data) % 160
            remainder = data[whole:]
            for i in range(0, whole, 160):
                send(data[i : i + 160])

    return run


# ---- measurement -------------------------------------------------------------


def cpu_us_per_frame(cases: dict[str, tuple[Callable, list, float]], reps: int) -> dict[str, float]:
    """Median thread-CPU µs per 20 ms of audio; cases are interleaved in random order."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    order = list(cases)
    for run, work, _ in cases.values():
        run(work)  # warm-up: caches, allocations, soxr priming
    for _ in range(reps):
        random.shuffle(order)
        for name in order:
            run, work, frames = cases[name]
            start = time.thread_time_ns()
            run(work)
            samples[name].append((time.thread_time_ns() - start) / 1000 / frames)
    return {name: statistics.median(values) for name, values in samples.items()}


def latency_ms(process: Callable[[np.ndarray], np.ndarray], in_rate: int, out_rate: int, sizes: list[int]) -> dict:
    """Group delay (impulse energy centroid) + withheld audio (mean/max over steady-state calls)."""
    calls = len(sizes)
    offsets = np.cumsum([0, *sizes])
    signal = np.zeros(offsets[-1], dtype=np.int16)
    impulse_at = int(offsets[calls // 2] + sizes[calls // 2] // 3)
    signal[impulse_at] = 16000
    outputs, withheld, emitted = [], [], 0
    for k in range(calls):
        out = process(signal[offsets[k] : offsets[k + 1]])
        outputs.append(out)
        emitted += len(out)
        withheld.append(offsets[k + 1] / in_rate - emitted / out_rate)
    y = np.concatenate(outputs).astype(np.float64)
    energy = y * y
    centroid = float((np.arange(len(y)) * energy).sum() / energy.sum())
    delay = centroid / out_rate - impulse_at / in_rate
    steady = withheld[calls // 4 :]
    return {
        "mean_ms": 1000 * (delay + statistics.fmean(steady)),
        "max_ms": 1000 * (delay + max(steady)),
    }


def soxr_process(in_rate: int, out_rate: int) -> Callable[[np.ndarray], np.ndarray]:
    stream = soxr.ResampleStream(in_rate, out_rate, 1, dtype="int16", quality="VHQ")
    return stream.resample_chunk


def fir_process(resampler) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: np.frombuffer(resampler.process(x.tobytes()), dtype=np.int16)


def measure(reps: int) -> dict:
    frames = twilio_media_frames(INBOUND_FRAMES)
    payloads = [twilio.decode(text).media.payload for text in frames]  # type: ignore[union-attr]
    many = payloads[:MANY_CALLS_FRAMES]
    inbound = cpu_us_per_frame(
        {
            "ours": (ours_inbound(16000), frames, INBOUND_FRAMES),
            "ours per-block": (with_twilio_decode(block_path_inbound()), frames, INBOUND_FRAMES),
            "ours 8k passthrough": (ours_inbound(8000), frames, INBOUND_FRAMES),
            "ref": (reference_inbound(), frames, INBOUND_FRAMES),
            "process only": (frames_only(InboundAudio(16000).process), payloads, INBOUND_FRAMES),
            "per-block only": (frames_only(block_path_inbound()), payloads, INBOUND_FRAMES),
            f"process only x{MANY_CALLS}": (
                round_robin(lambda: InboundAudio(16000).process, MANY_CALLS), many, len(many) * MANY_CALLS
            ),
            f"per-block only x{MANY_CALLS}": (
                round_robin(block_path_inbound, MANY_CALLS), many, len(many) * MANY_CALLS
            ),
        },
        reps,
    )
    outbound = {}
    for plan in OUTBOUND_CHUNKINGS:
        sizes = chunk_plan(plan, 24000 * OUTBOUND_SECONDS)
        chunks = gemini_chunks(sizes)
        out_frames = sum(sizes) / 480  # 20 ms = 480 samples at 24 kHz
        costs = cpu_us_per_frame(
            {
                "ours": (ours_outbound(), chunks, out_frames),
                "ref": (reference_outbound(per_frame=True), chunks, out_frames),
                "ref/chunk": (reference_outbound(per_frame=False), chunks, out_frames),
            },
            reps,
        )
        outbound[f"{plan} chunks"] = costs
    latency = {
        "inbound": {
            "ours": latency_ms(fir_process(make_upsampler_8k_to_16k()), 8000, 16000, [160] * 150),
            "ref": latency_ms(soxr_process(8000, 16000), 8000, 16000, [160] * 150),
        },
        "outbound": {
            f"{plan} chunks": {
                "ours": latency_ms(fir_process(make_decimator_24k_to_8k()), 24000, 8000, sizes),
                "ref": latency_ms(soxr_process(24000, 8000), 24000, 8000, sizes),
            }
            for plan in OUTBOUND_CHUNKINGS
            for sizes in [chunk_plan(plan, 24000 * 6)]
        },
    }
    ratios = {"inbound": inbound["ours"] / inbound["ref"]}
    ratios.update({f"outbound {k}": v["ours"] / v["ref"] for k, v in outbound.items()})
    return {
        "cpu_us_per_frame": {"inbound": inbound, "outbound": outbound},
        "ratio_ours_over_ref": ratios,
        "latency": latency,
    }


# ---- report ------------------------------------------------------------------


def print_table(result: dict) -> None:
    cpu, lat = result["cpu_us_per_frame"], result["latency"]
    print("CPU µs per 20 ms frame (thread CPU, median) and added latency, ours vs reference")
    print(f"{'path':<30}{'ours':>8}{'ref':>8}{'ours/ref':>10}   latency ours | ref  (mean/max ms)")
    rows = [("inbound 8k->16k", cpu["inbound"], lat["inbound"])]
    rows += [(f"outbound {k}", v, lat["outbound"][k]) for k, v in cpu["outbound"].items()]
    for label, cost, latency in rows:
        ours, ref = latency["ours"], latency["ref"]
        print(
            f"{label:<30}{cost['ours']:>8.2f}{cost['ref']:>8.2f}{cost['ours'] / cost['ref']:>10.2f}"
            f"   {ours['mean_ms']:5.1f}/{ours['max_ms']:5.1f} | {ref['mean_ms']:5.1f}/{ref['max_ms']:5.1f}"
        )
    inbound = cpu["inbound"]
    print(f"{'inbound, per-block (before #13)':<30}{inbound['ours per-block']:>8.2f}   (same output)")
    print(f"{'inbound 8k passthrough':<30}{inbound['ours 8k passthrough']:>8.2f}   (no resampling, 0 ms)")
    print(f"{'InboundAudio.process alone':<30}{inbound['process only']:>8.2f}   (no JSON; per-block "
          f"{inbound['per-block only']:.2f})")
    print(f"{f'  same, {MANY_CALLS} calls round-robin':<30}{inbound[f'process only x{MANY_CALLS}']:>8.2f}"
          f"   (per-block {inbound[f'per-block only x{MANY_CALLS}']:.2f})")
    for k, v in cpu["outbound"].items():
        print(f"{'outbound ' + k + ', ref/chunk':<30}{v['ref/chunk']:>16.2f}   (Pipecat: one message per chunk)")


def main(argv: list[str] | None = None) -> dict:
    """Entry point for `python -m bench.audio_bench` and for `python -m bench` (argv=[])."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=300, help="interleaved repetitions per case")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    result = measure(args.reps)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return result


if __name__ == "__main__":
    main()
