"""Pure Media Streams codecs and Twilio's playback-buffer semantics (no I/O)."""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

FRAME_BYTES = 160  # 20 ms of mu-law at 8 kHz
FRAME_MS = 20
SILENCE_FRAME = b"\xff" * FRAME_BYTES
ERR_PROTOCOL = 31924  # "Stream - WebSocket - Protocol Error"
ERR_BINARY = 31950


class StreamProtocolError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class Sequencer:
    """Builds Twilio -> server messages with string sequence numbers and chunk counts."""

    def __init__(self, stream_sid: str, call_sid: str, account_sid: str):
        self.stream_sid, self.call_sid, self.account_sid = stream_sid, call_sid, account_sid
        self.seq = 0
        self.chunk = 0

    def _next(self, event: str, **body: Any) -> dict:
        self.seq += 1
        return {"event": event, "sequenceNumber": str(self.seq), **body, "streamSid": self.stream_sid}

    @staticmethod
    def connected() -> dict:
        return {"event": "connected", "protocol": "Call", "version": "1.0.0"}

    def start(self, custom_parameters: dict[str, str]) -> dict:
        return self._next("start", start={
            "accountSid": self.account_sid, "streamSid": self.stream_sid, "callSid": self.call_sid,
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            "customParameters": dict(custom_parameters)})

    def media(self, payload: bytes) -> dict:
        self.chunk += 1
        timestamp = (self.chunk - 1) * FRAME_MS
        return self._next("media", media={"track": "inbound", "chunk": str(self.chunk),
                                          "timestamp": str(timestamp),
                                          "payload": base64.b64encode(payload).decode()})

    def dtmf(self, digit: str) -> dict:
        return self._next("dtmf", dtmf={"track": "inbound_track", "digit": digit})

    def mark(self, name: str) -> dict:
        return self._next("mark", mark={"name": name})

    def stop(self) -> dict:
        return self._next("stop", stop={"accountSid": self.account_sid, "callSid": self.call_sid})


def parse_server_message(raw: str | bytes, stream_sid: str) -> dict:
    """Validate a server -> Twilio frame: only media/mark/clear, well formed (else 31924)."""
    if isinstance(raw, (bytes, bytearray)):
        raise StreamProtocolError(ERR_BINARY, "binary frames are not supported")
    try:
        msg = json.loads(raw)
    except ValueError as err:
        raise StreamProtocolError(ERR_PROTOCOL, f"invalid JSON: {err}") from err
    event = msg.get("event") if isinstance(msg, dict) else None
    if event not in ("media", "mark", "clear"):
        raise StreamProtocolError(ERR_PROTOCOL, f"unsupported event {event!r}")
    if msg.get("streamSid") != stream_sid:
        raise StreamProtocolError(ERR_PROTOCOL, f"wrong streamSid {msg.get('streamSid')!r}")
    if event == "media":
        msg["_audio"] = _payload(msg)
    if event == "mark" and not isinstance((msg.get("mark") or {}).get("name"), str):
        raise StreamProtocolError(ERR_PROTOCOL, "mark without name")
    return msg


def _payload(msg: dict) -> bytes:
    payload = (msg.get("media") or {}).get("payload")
    if not isinstance(payload, str):
        raise StreamProtocolError(ERR_PROTOCOL, "media without payload")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as err:
        raise StreamProtocolError(ERR_PROTOCOL, "payload is not base64") from err


@dataclass
class Playback:
    """Twilio's outbound buffer: media played in order at 8000 bytes/s; a mark is echoed
    once the audio queued before it has played (at once if nothing is buffered);
    ``clear`` drops buffered audio and echoes every pending mark."""

    queue: list[tuple[str, Any]] = field(default_factory=list)  # ("audio", bytearray) | ("mark", name)
    buffered: int = 0

    def add_audio(self, data: bytes) -> None:
        if self.queue and self.queue[-1][0] == "audio":
            self.queue[-1][1].extend(data)
        else:
            self.queue.append(("audio", bytearray(data)))
        self.buffered += len(data)

    def add_mark(self, name: str) -> list[str]:
        self.queue.append(("mark", name))
        return self._leading_marks()

    def clear(self) -> tuple[int, list[str]]:
        """Returns (dropped bytes, marks to echo)."""
        dropped = self.buffered
        marks = [v for kind, v in self.queue if kind == "mark"]
        self.queue.clear()
        self.buffered = 0
        return dropped, marks

    def tick(self, n: int = FRAME_BYTES) -> tuple[bytes, list[str]]:
        """Play up to ``n`` bytes: returns (played audio, marks now reached)."""
        out = bytearray()
        marks = self._leading_marks()
        while len(out) < n and self.queue and self.queue[0][0] == "audio":
            buf = self.queue[0][1]
            take = buf[: n - len(out)]
            out.extend(take)
            del buf[: len(take)]
            if not buf:
                self.queue.pop(0)
                marks += self._leading_marks()
        self.buffered -= len(out)
        return bytes(out), marks

    def _leading_marks(self) -> list[str]:
        marks = []
        while self.queue and self.queue[0][0] == "mark":
            marks.append(self.queue.pop(0)[1])
        return marks
