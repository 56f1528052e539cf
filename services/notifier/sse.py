"""Server-sent-events wire format (pure functions, no I/O).

A frame is ``id:``/``event:``/``data:`` lines ended by a blank line; ``:`` starts a comment
(the heartbeat); ``retry:`` sets the browser's reconnect delay.
"""

from __future__ import annotations

import re

_FIELD_VALUE = re.compile(r"^[^\r\n]*$")


def frame(data: bytes, *, event: str | None = None, seq: int | None = None) -> bytes:
    """One SSE event. ``data`` may hold newlines: each line becomes its own ``data:`` line."""
    parts: list[bytes] = []
    if seq is not None:
        parts.append(b"id: %d\n" % seq)
    if event is not None:
        if not _FIELD_VALUE.match(event):
            raise ValueError("an SSE event name cannot contain a line break")
        parts.append(b"event: " + event.encode() + b"\n")
    for line in data.splitlines() or [b""]:
        parts.append(b"data: " + line + b"\n")
    parts.append(b"\n")
    return b"".join(parts)


def comment(text: str = "ping") -> bytes:
    return b": " + text.replace("\n", " ").encode() + b"\n\n"


def retry(milliseconds: int) -> bytes:
    return b"retry: %d\n\n" % milliseconds


class BadResumePoint(ValueError):
    """The client's Last-Event-ID / ``since`` is not a stream sequence."""


def parse_resume_point(header: str | None, query: dict[str, str]) -> int | None:
    """The sequence a client resumes after: the ``Last-Event-ID`` header wins, then
    ``?last_event_id=``, then ``?since=``. Empty means a fresh start; anything but a
    non-negative integer is a client error."""
    for raw in (header, query.get("last_event_id"), query.get("since")):
        if raw is None or raw.strip() == "":
            continue
        value = raw.strip()
        if not value.isascii() or not value.isdigit() or len(value) > 19:
            raise BadResumePoint(
                f"Last-Event-ID must be a non-negative integer stream sequence, got {value[:40]!r}")
        return int(value)
    return None


class Message:
    """One parsed SSE block (the reading side, for API clients, tests and the benchmark)."""

    __slots__ = ("event", "data", "id", "retry", "comments")

    def __init__(self) -> None:
        self.event: str | None = None
        self.data: str | None = None
        self.id: str | None = None
        self.retry: int | None = None
        self.comments: list[str] = []

    def __repr__(self) -> str:
        return f"Message(event={self.event!r}, id={self.id!r}, data={(self.data or '')[:60]!r})"


class Parser:
    """Incremental parser: ``feed(chunk)`` returns the blocks completed by that chunk."""

    def __init__(self) -> None:
        self._buffer = b""
        self._current = Message()

    def feed(self, chunk: bytes) -> list[Message]:
        self._buffer += chunk
        done: list[Message] = []
        while (end := self._buffer.find(b"\n")) >= 0:
            line = self._buffer[:end].rstrip(b"\r").decode()
            self._buffer = self._buffer[end + 1:]
            if line == "":
                done.append(self._current)
                self._current = Message()
            else:
                self._field(line)
        return done

    def _field(self, line: str) -> None:
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        message = self._current
        if name == "":
            message.comments.append(value)
        elif name == "data":
            message.data = value if message.data is None else message.data + "\n" + value
        elif name == "event":
            message.event = value
        elif name == "id":
            message.id = value
        elif name == "retry" and value.isdigit():
            message.retry = int(value)
