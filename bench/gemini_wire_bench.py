"""Thread CPU of the bridge's Gemini socket hot paths against a TLS peer in another process.

    python -m bench.gemini_wire_bench [--rounds N] [--json FILE]

* read: one 40 ms model-audio message (a 2.7 kB text frame, one per ms from the peer) through
  ``live_fast.AudioTap`` to the call, with ``live_frames.ServerFrames`` in front of websockets'
  parser ("frames") vs websockets' parser alone ("parser"): two connections, alternated rounds,
  median of the paired differences;
* write: one 20 ms caller frame (640 B PCM) through ``live_fast.AudioWriter`` vs websockets' own
  ``send`` of the same message (``live_fast.send_audio``), alternated rounds.

Both on uvloop (the services' loop), this process pinned to the last cpu and the peer to the
first when there are two or more (docs/benchmarks.md, sitting G).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace

import uvloop
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from emulators.tls import TlsBundle
from services.bridge import live_fast

MODEL_AUDIO = json.dumps({"serverContent": {"modelTurn": {"parts": [{"inlineData": {
    "mimeType": "audio/pcm;rate=24000", "data": base64.b64encode(os.urandom(1920)).decode()}}]}}})
DONE = '{"setupComplete": {}}'
CALLER_PCM = os.urandom(640)
MIME = "audio/pcm;rate=16000"
MESSAGES, FRAMES = 400, 1000


async def peer(directory: str) -> None:
    """Discards what it receives; on ``audio N`` sends N model-audio messages, one per ms, then DONE."""
    async def handler(ws):
        async for message in ws:
            if isinstance(message, str) and message.startswith("audio "):
                for _ in range(int(message.split()[1])):
                    await ws.send(MODEL_AUDIO)
                    await asyncio.sleep(0.001)
                await ws.send(DONE)

    tls = TlsBundle.create(directory)
    async with serve(handler, "127.0.0.1", 0, ssl=tls.server_context(), compression=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


class Reader:
    def __init__(self, ws, with_frames: bool) -> None:
        self.ws, self.got, self.done = ws, 0, asyncio.Event()
        tap = live_fast.AudioTap(ws, self.on_audio)
        if not with_frames and tap.server_frames is not None:
            del ws.data_received  # back to websockets' own method
            ws.transport.set_protocol(ws)
        self.task = asyncio.ensure_future(self.loop())

    def on_audio(self, chunk: live_fast.AudioChunk) -> None:
        self.got += 1

    async def loop(self) -> None:
        async for message in live_fast.receive(SimpleNamespace(_ws=self.ws)):
            if isinstance(message, live_fast.AudioChunk):
                self.got += 1
            else:
                self.done.set()

    async def round(self) -> float:
        self.done.clear()
        self.got = 0
        start = time.thread_time_ns()
        await self.ws.send(f"audio {MESSAGES}")
        await self.done.wait()
        assert self.got == MESSAGES, self.got
        return (time.thread_time_ns() - start) / MESSAGES / 1000


async def write_round(session, writer: live_fast.AudioWriter | None) -> float:
    start = time.thread_time_ns()
    for _ in range(FRAMES):
        if writer is not None:
            assert writer.write(CALLER_PCM)
            await asyncio.sleep(0)
        else:
            await live_fast.send_audio(session, CALLER_PCM, MIME)
    spent = time.thread_time_ns() - start
    await asyncio.sleep(0.05)
    return spent / FRAMES / 1000


def paired(a: list[float], b: list[float]) -> dict[str, float]:
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    return {"median_a_us": round(statistics.median(a), 2), "median_b_us": round(statistics.median(b), 2),
            "paired_median_us": round(statistics.median(diffs), 2), "a_lower_in": sum(d < 0 for d in diffs),
            "pairs": len(diffs)}


async def measure(port: int, ca_file: str, rounds: int) -> dict[str, dict[str, float]]:
    context = ssl.create_default_context(cafile=ca_file)
    url = f"wss://127.0.0.1:{port}"
    results: dict[str, dict[str, float]] = {}
    async with connect(url, ssl=context, compression=None) as parser_ws, \
            connect(url, ssl=context, compression=None) as frames_ws:
        parser, frames = Reader(parser_ws, False), Reader(frames_ws, True)
        times: dict[str, list[float]] = {"frames": [], "parser": []}
        await parser.round(), await frames.round()  # warm-up
        for n in range(rounds):
            for name, reader in (("frames", frames), ("parser", parser))[::1 if n % 2 else -1]:
                times[name].append(await reader.round())
        results["read: ServerFrames (a) vs websockets' parser (b), per model-audio message"] = \
            paired(times["frames"], times["parser"])
        session = SimpleNamespace(_ws=frames_ws)
        writer = live_fast.AudioWriter(session, MIME)
        times = {"writer": [], "send": []}
        await write_round(session, writer)
        for n in range(rounds):
            for name, use in (("writer", writer), ("send", None))[::1 if n % 2 else -1]:
                times[name].append(await write_round(session, use))
        results["write: AudioWriter (a) vs websockets' send (b), per caller frame"] = \
            paired(times["writer"], times["send"])
        for reader in (parser, frames):
            reader.task.cancel()
        await asyncio.gather(parser.task, frames.task, return_exceptions=True)
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=24)
    parser.add_argument("--json", default="")
    parser.add_argument("--peer", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peer:
        uvloop.run(peer(args.peer))
        return {}
    cpus = sorted(os.sched_getaffinity(0))
    directory = tempfile.mkdtemp(prefix="gemini-wire-")
    pin = ["taskset", "-c", str(cpus[0])] if len(cpus) > 1 else []
    proc = subprocess.Popen([*pin, sys.executable, "-m", "bench.gemini_wire_bench", "--peer", directory],
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline()) if proc.stdout else 0
        if len(cpus) > 1:
            os.sched_setaffinity(0, {cpus[-1]})
        results = uvloop.run(measure(port, os.path.join(directory, "ca.pem"), args.rounds))
    finally:
        proc.kill()
        proc.wait()
    for name, r in results.items():
        print(f"{name}: a {r['median_a_us']} µs, b {r['median_b_us']} µs, paired a−b {r['paired_median_us']} µs "
              f"(a lower in {r['a_lower_in']} of {r['pairs']})")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)
    return results


if __name__ == "__main__":
    main()
