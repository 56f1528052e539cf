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
  tick, everything due in one ``transport.write``.

    python -m bench.gemini_load PORT API_KEY TLS_DIR [--period 3 --speak 1.4 ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random

import numpy as np

from emulators import audio
from emulators.gemini import protocol as p
from emulators.tls import TlsBundle

from . import ws_frames as wsf

AUDIO_PREFIX = b'{"realtime_input": {"audio"'


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


class LiveConnection(asyncio.Protocol):
    def __init__(self, server: LoadServer) -> None:
        self.server, self.reader = server, wsf.FrameReader()
        self.transport: asyncio.Transport | None = None
        self._head = b""
        self.upgraded = self.live = False
        self.turn_start = 0.0  # loop time of the current turn's start
        self.next_frame = 0
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
            self.transport.write(wsf.encode(json.dumps(p.setup_complete()).encode(), wsf.BINARY))
            self.live = True
            loop = asyncio.get_running_loop()
            self.turn_start = loop.time() + self.server.first_s + random.random() * self.server.period_s
            self.server.live.add(self)

    def connection_lost(self, exc) -> None:
        self.server.live.discard(self)

    def tick(self, now: float) -> None:
        """Write every frame of the current turn now due, in one write."""
        script, start = self.server.script, self.turn_start
        if now < start:
            return
        i, due = self.next_frame, []
        while i < len(script.frames) and start + script.due[i] <= now:
            due.append(script.frames[i])
            i += 1
        if due:
            self.transport.write(due[0] if len(due) == 1 else b"".join(due))
        self.next_frame = i
        if i == len(script.frames):
            self.next_frame, self.turn_start = 0, start + self.server.period_s


class LoadServer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.api_key, self.period_s, self.first_s = args.api_key, args.period, args.first
        self.tick_s = args.chunk_ms / 1000 / 2
        self.script = Script(args.speak, args.chunk_ms, args.burst_ms, args.pace)
        self.live: set[LiveConnection] = set()

    async def ticker(self) -> None:
        loop = asyncio.get_running_loop()
        start, step = loop.time(), 0
        while True:
            now = loop.time()
            for conn in list(self.live):
                if not conn.transport.is_closing():
                    conn.tick(now)
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
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
