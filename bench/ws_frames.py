"""The few WebSocket (RFC 6455) framing pieces the load generators need, on raw asyncio
transports: pre-encoded frames cost one ``transport.write`` and no Python per byte.

Client frames must be masked; the generators mask with the all-zero key, which makes
masking a no-op on the wire, so a frame can be encoded once and written many times.
"""

from __future__ import annotations

import base64
import hashlib
import os

TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def encode(payload: bytes, opcode: int = TEXT, masked: bool = False) -> bytes:
    size = len(payload)
    mask_bit = 0x80 if masked else 0
    if size < 126:
        header = bytes((0x80 | opcode, mask_bit | size))
    elif size < 1 << 16:
        header = bytes((0x80 | opcode, mask_bit | 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, mask_bit | 127)) + size.to_bytes(8, "big")
    return header + (b"\0\0\0\0" if masked else b"") + payload


def unmask(data: bytes, key: bytes) -> bytes:
    if not data or not key or key == b"\0\0\0\0":
        return data
    pad = (key * (len(data) // 4 + 1))[: len(data)]
    return (int.from_bytes(data, "little") ^ int.from_bytes(pad, "little")).to_bytes(len(data), "little")


class FrameReader:
    """Incremental parser: ``feed(data)`` -> [(opcode, payload, mask key)]; payloads stay
    masked (the caller unmasks what it reads). Fragmented messages are not supported:
    neither websockets nor aiohttp fragments the messages these benches exchange."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes, bytes]]:
        buf = self._buf
        buf += data
        out, pos, end = [], 0, len(buf)
        while end - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            size, head = b1 & 0x7F, 2
            if size == 126:
                if end - pos < 4:
                    break
                size, head = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
            elif size == 127:
                if end - pos < 10:
                    break
                size, head = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
            key = b""
            if b1 & 0x80:
                key, head = bytes(buf[pos + head:pos + head + 4]), head + 4
            if end - pos < head + size:
                break
            if not b0 & 0x80:
                raise ValueError("fragmented WebSocket message")
            out.append((b0 & 0x0F, bytes(buf[pos + head:pos + head + size]), key))
            pos += head + size
        if pos:
            del buf[:pos]
        return out


def client_key() -> str:
    return base64.b64encode(os.urandom(16)).decode()


def accept_for(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()


def split_http(buffer: bytes) -> tuple[bytes, bytes] | None:
    """(head, rest) once the HTTP head is complete, else None."""
    end = buffer.find(b"\r\n\r\n")
    return None if end < 0 else (buffer[:end], buffer[end + 4:])


def headers_of(head: bytes) -> tuple[str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
    return lines[0], {k.strip().lower(): v.strip() for k, v in fields.items()}
