"""A load-mode Gemini Live stand-in for bench/bridge_bench.py: answers on a schedule.

The full emulator (emulators/gemini) runs an energy VAD on every caller frame and builds
every reply with ``json.dumps``; at 100 calls that saturated the core it shared with the
harness before the bridge did. This stand-in speaks the same wire protocol to the real
google-genai SDK (TLS, WebSocket upgrade, ``setup`` -> ``setupComplete``, ping -> pong,
close) on a raw asyncio transport, and otherwise does the least it can:

* caller audio is recognised by the first bytes of the message and counted, never parsed;
* every call speaks one agent turn per ``period`` (``speak`` seconds of speech-like audio
  in ``chunk_ms`` chunks: the first ``burst_ms`` at once, then at ``pace`` × real time;
  one output transcription, ``generationComplete``, ``turnComplete``), calls out of phase;
* every server message is encoded once at start; one ticker writes, per connection and
  tick, everything due in one ``transport.write``;
* every ``interrupt_every``-th turn is cut ``interrupt_at`` seconds in with
  ``serverContent.interrupted`` (what Gemini sends on barge-in); with ``--timing-log`` the
  send time (``time.monotonic``, the same clock as the harness's) of every turn's first
  chunk (``f``) and of every ``interrupted`` (``i``) is logged with the bench call number
  found in the session's setup (``bench<N>`` in the property id), so the bench can time
  ``interrupted`` → Twilio ``clear`` and first chunk → Twilio end to end.

    python -m bench.gemini_load PORT API_KEY TLS_DIR [--period 3 --speak 1.4 ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
from typing import TextIO

import numpy as np

from emulators import audio
from emulators.gemini import protocol as p
from emulators.tls import TlsBundle

from . import ws_frames as wsf

AUDIO_PREFIX = b'{"realtime_input": {"audio"'
BENCH_CALL = re.compile(r"bench(\d+)")


class Script:
    """The pre-encoded frames of one agent turn, and when each is due."""

    def __init__(self, speak_s: float, chunk_ms: int, burst_ms: int, pace: float) -> None:
        pcm = audio.speech_like("I understand. Let me look into that for you right away.", 24000)
        pcm = np.resize(pcm, int(speak_s * 24000)).astype("<i2").tobytes()
        step = 24000 * 2 * chunk_ms // 1000
        chunks = [wsf.encode(json.dumps(p.audio_chunk(pcm[i:i + step])).encode(), wsf.BINARY)
                  for i in range(0, len(pcm), step)]
        words = wsf.encode(json.dumps(p.output_transcription("I understand.")).encode(), wsf.BINARY)
        end = b"".join(wsf.encode(json.dumps(m).encode(), wsf.BINARY)
                       for m in (p.flag("generationComplete"), p.turn_complete()))
        self.frames = [chunks[0] + words, *chunks[1:-1], chunks[-1] + end]
        self.due = [max(0.0, (i * chunk_ms - burst_ms) / 1000) / pace for i in range(len(chunks))]
        self.interrupted = wsf.encode(json.dumps(p.flag("interrupted")).encode(), wsf.BINARY)


class LiveConnection(asyncio.Protocol):
    def __init__(self, server: LoadServer) -> None:
        self.server, self.reader = server, wsf.FrameReader()
        self.transport: asyncio.Transport | None = None
        self._head = b""
        self.upgraded = self.live = False
        self.turn_start = 0.0  # loop time of the current turn's start
        self.next_frame = 0
        self.turns = 0
        self.call_n = -1  # the bench call number, from the setup; -1: not a bench call
        self.audio_in = 0

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if not self.upgraded:
            data = self._upgrade(data)
            if not data:
                return
        for opcode, payload, key in self.reader.feed(data):
            if opcode in (wsf.TEXT, wsf.BINARY):
                self._message(payload, key)
            elif opcode == wsf.PING:
                self.transport.write(wsf.encode(wsf.unmask(payload, key), wsf.PONG))
            elif opcode == wsf.CLOSE:
                self.transport.write(wsf.encode(wsf.unmask(payload, key)[:2], wsf.CLOSE))
                self.transport.close()

    def _upgrade(self, data: bytes) -> bytes:
        parts = wsf.split_http(self._head + data)
        if parts is None:
            self._head += data
            return b""
        head, rest = parts
        request, headers = wsf.headers_of(head)
        if "BidiGenerateContent" not in request or headers.get("x-goog-api-key") != self.server.api_key:
            self.transport.write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
            self.transport.close()
            return b""
        self.transport.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              f"Sec-WebSocket-Accept: {wsf.accept_for(headers['sec-websocket-key'])}\r\n\r\n").encode())
        self.upgraded = True
        return rest

    def _message(self, payload: bytes, key: bytes) -> None:
        if wsf.unmask(payload[:len(AUDIO_PREFIX)], key) == AUDIO_PREFIX:
            self.audio_in += 1
            return
        message = json.loads(wsf.unmask(payload, key))
        if "setup" in message and not self.live:
            found = BENCH_CALL.search(json.dumps(message["setup"]))
            self.call_n = int(found.group(1)) if found else -1
            self.transport.write(wsf.encode(json.dumps(p.setup_complete()).encode(), wsf.BINARY))
            self.live = True
            loop = asyncio.get_running_loop()
            self.turn_start = loop.time() + self.server.first_s + random.random() * self.server.period_s
            self.server.live.add(self)

    def connection_lost(self, exc) -> None:
        self.server.live.discard(self)

    def tick(self, now: float) -> None:
        """Write every frame of the current turn now due, in one write."""
        server, start = self.server, self.turn_start
        script = server.script
        if now < start:
            return
        cut = server.interrupt_every and self.turns % server.interrupt_every == 0
        until = min(now, start + server.interrupt_at) if cut else now
        i, due = self.next_frame, []
        while i < len(script.frames) and start + script.due[i] <= until:
            due.append(script.frames[i])
            i += 1
        if self.next_frame == 0 and due:
            server.log_timing("f", self.call_n, now)
        interrupt = cut and now >= start + server.interrupt_at
        if interrupt:
            due.append(script.interrupted)
        if due:
            self.transport.write(due[0] if len(due) == 1 else b"".join(due))
            if interrupt:
                server.log_timing("i", self.call_n, now)
        self.next_frame = i
        if i == len(script.frames) or interrupt:
            self.next_frame, self.turn_start, self.turns = 0, start + server.period_s, self.turns + 1


class LoadServer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.api_key, self.period_s, self.first_s = args.api_key, args.period, args.first
        self.tick_s = args.chunk_ms / 1000 / 2
        self.script = Script(args.speak, args.chunk_ms, args.burst_ms, args.pace)
        self.interrupt_every, self.interrupt_at = args.interrupt_every, args.interrupt_at
        self.timing: TextIO | None = open(args.timing_log, "a") if args.timing_log else None  # noqa: SIM115
        self.live: set[LiveConnection] = set()

    def log_timing(self, kind: str, call_n: int, at: float) -> None:
        if self.timing is not None and call_n >= 0:
            self.timing.write(f"{kind} {call_n} {at:.6f}\n")

    async def ticker(self) -> None:
        loop = asyncio.get_running_loop()
        start, step = loop.time(), 0
        while True:
            now = loop.time()
            for conn in list(self.live):
                if not conn.transport.is_closing():
                    conn.tick(now)
            if self.timing is not None:
                self.timing.flush()
            step += 1
            await asyncio.sleep(max(0.0, start + step * self.tick_s - loop.time()))


async def main(args: argparse.Namespace) -> None:
    tls = TlsBundle.create(args.tls_dir)
    server = LoadServer(args)
    loop = asyncio.get_running_loop()
    await loop.create_server(lambda: LiveConnection(server), "127.0.0.1", args.port, ssl=tls.server_context())
    print("ready", tls.ca_file, flush=True)
    await server.ticker()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("port", type=int)
    parser.add_argument("api_key")
    parser.add_argument("tls_dir")
    parser.add_argument("--period", type=float, default=3.0, help="seconds from one agent turn to the next")
    parser.add_argument("--speak", type=float, default=1.4, help="seconds of agent audio per turn")
    parser.add_argument("--first", type=float, default=0.3, help="seconds before the greeting starts")
    parser.add_argument("--chunk-ms", type=int, default=40)
    parser.add_argument("--burst-ms", type=int, default=300)
    parser.add_argument("--pace", type=float, default=1.0, help="1 = real time after the burst; 2 = twice")
    parser.add_argument("--interrupt-every", type=int, default=2, help="cut every N-th turn (0: never)")
    parser.add_argument("--interrupt-at", type=float, default=0.8, help="seconds into the turn")
    parser.add_argument("--timing-log", default="", help="append 'f|i CALL MONOTONIC_S' lines here")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
