"""The Twilio side of N media streams for bench/bridge_bench.py, as cheap as it can be.

Each call is a raw asyncio protocol on its own TCP connection (signed WebSocket upgrade,
``connected``, ``start`` with a one-time token). Every caller frame is a complete masked
WebSocket frame encoded once per call before the run (1.2 s speech-like audio, 1.8 s
silence, calls out of phase; ``sequenceNumber`` repeats every 3 s, which the bridge does
not read): a tick is one ``transport.write`` per call. Agent audio is counted from the
base64 length without decoding it, and marks are echoed when the audio before them would
have finished playing (Twilio's behaviour), so the bridge's pacing and underrun detection
see a real-time player.
"""

from __future__ import annotations

import asyncio
import base64
import json

import numpy as np

from . import ws_frames as wsf

SLOTS = 10  # independent calls are not phase-aligned: spread them over the 20 ms tick
_PAYLOAD = b'"payload":"'
_NAME = b'"name":"'


def caller_audio() -> list[bytes]:
    """One 3 s cycle of 20 ms μ-law frames: 1.2 s of speech-like audio, 1.8 s of silence."""
    from emulators.audio import pcm16_to_ulaw, speech_like
    speech = pcm16_to_ulaw(np.resize(speech_like("bench caller talking about a leak", 8000), 9600))
    return [speech[i:i + 160] for i in range(0, len(speech), 160)] + [b"\xff" * 160] * 90


class TwilioCall(asyncio.Protocol):
    def __init__(self, n: int, request: bytes, start: list[bytes]) -> None:
        self.n, self.sid = n, f"MZbench{n}"
        self._request, self._start = request, start
        self.transport: asyncio.Transport | None = None
        self.ready: asyncio.Future = asyncio.get_running_loop().create_future()
        self.reader = wsf.FrameReader()
        self._head = b""
        self.frames: list[bytes] = []
        self.sent = self.received_bytes = self.media_messages = self.marks = 0
        self.play_end = 0.0
        self.clears: list[float] = []       # when each ``clear`` arrived (loop time = time.monotonic)
        self.turn_starts: list[float] = []  # when media arrived with nothing left to play

    def encode_frames(self, cycle: list[bytes]) -> None:
        template = ('{"event":"media","sequenceNumber":"%d","streamSid":"' + self.sid + '","media":'
                    '{"track":"inbound","chunk":"%d","timestamp":"%d","payload":"%s"}}')
        self.frames = [wsf.encode((template % (k + 2, k + 1, k * 20, base64.b64encode(ulaw).decode())).encode(),
                                  masked=True) for k, ulaw in enumerate(cycle)]

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self._request)

    def connection_lost(self, exc) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"call {self.n}: connection lost before the upgrade"))

    def data_received(self, data: bytes) -> None:
        if not self.ready.done():
            parts = wsf.split_http(self._head + data)
            if parts is None:
                self._head += data
                return
            head, data = parts
            if not head.startswith(b"HTTP/1.1 101"):
                self.ready.set_exception(ConnectionError(head.split(b"\r\n")[0].decode()))
                return
            self.transport.write(b"".join(self._start))
            self.ready.set_result(None)
        for opcode, payload, _ in self.reader.feed(data):
            if opcode == wsf.TEXT:
                self._message(payload)
            elif opcode == wsf.CLOSE:
                self.transport.close()

    def _message(self, payload: bytes) -> None:
        loop = asyncio.get_running_loop()
        head = payload[:20].replace(b" ", b"")  # json.dumps (the reference) puts a space after ':'
        if head.startswith(b'{"event":"media"'):
            at = payload.find(_PAYLOAD) + len(_PAYLOAD)
            if at < len(_PAYLOAD):
                at = payload.find(b'"payload": "') + len(_PAYLOAD) + 1
            end = payload.find(b'"', at)
            size = (end - at) * 3 // 4 - payload.count(b"=", end - 2, end)
            self.received_bytes += size
            self.media_messages += 1
            now = loop.time()
            if now >= self.play_end:
                self.turn_starts.append(now)
            self.play_end = max(now, self.play_end) + size / 8000
        elif head.startswith(b'{"event":"mark"'):
            at = payload.find(_NAME) + len(_NAME)
            self.marks += 1
            loop.call_at(max(loop.time(), self.play_end), self._echo, payload[at:payload.find(b'"', at)])
        elif head.startswith(b'{"event":"clear"'):
            self.play_end = loop.time()
            self.clears.append(self.play_end)

    def _echo(self, name: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(wsf.encode(b'{"event":"mark","sequenceNumber":"0","streamSid":"%s","mark":{"name":"%s"}}'
                                            % (self.sid.encode(), name), masked=True))

    def hang_up(self) -> None:
        if not self.transport.is_closing():
            stop = {"event": "stop", "sequenceNumber": "0", "streamSid": self.sid,
                    "stop": {"accountSid": "ACbench", "callSid": f"CAbench{self.n}"}}
            self.transport.write(wsf.encode(json.dumps(stop).encode(), masked=True)
                                 + wsf.encode((1000).to_bytes(2, "big"), wsf.CLOSE, masked=True))


def upgrade_request(host: str, port: int, path: str, signature: str) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {wsf.client_key()}\r\nSec-WebSocket-Version: 13\r\n"
            f"X-Twilio-Signature: {signature}\r\n\r\n").encode()


def start_messages(n: int, sid: str, token: str, call_id: str) -> list[bytes]:
    connected = {"event": "connected", "protocol": "Call", "version": "1.0.0"}
    start = {"event": "start", "sequenceNumber": "1", "streamSid": sid, "start": {
        "accountSid": "ACbench", "streamSid": sid, "callSid": f"CAbench{n}", "tracks": ["inbound"],
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        "customParameters": {"token": token, "call_id": call_id}}}
    return [wsf.encode(json.dumps(m).encode(), masked=True) for m in (connected, start)]


async def ticker(calls: list[TwilioCall], seconds: float) -> list[float]:
    """One drift-corrected clock for all calls; call n writes its 20 ms frame in slot
    n % SLOTS of each tick (2 ms apart). Returns the clock's lateness samples (s)."""
    loop = asyncio.get_running_loop()
    lateness, start, step = [], loop.time(), 0
    slot_s = 0.02 / SLOTS
    by_slot = [[c for c in calls if c.n % SLOTS == k] for k in range(SLOTS)]
    while loop.time() - start < seconds:
        tick, slot = divmod(step, SLOTS)
        lateness.append(max(0.0, loop.time() - (start + step * slot_s)))
        for call in by_slot[slot]:
            if not call.transport.is_closing():
                call.transport.write(call.frames[(tick + call.n * 7) % len(call.frames)])  # calls talk out of phase
                call.sent += 1
        step += 1
        await asyncio.sleep(max(0.0, start + step * slot_s - loop.time()))
    return lateness
