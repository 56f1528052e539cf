"""One bidirectional Media Stream (``<Connect><Stream>``): Twilio is the WebSocket client.

Sends connected/start, then every 20 ms (real time, drift-corrected) a ``media`` frame of
the callee's microphone; plays back the server's media with Twilio's mark/clear semantics.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp

from .callee import TICK_S, CalleeRuntime
from .media import FRAME_BYTES, Playback, Sequencer, StreamProtocolError, parse_server_message
from .twiml import StreamSpec
from .webhooks import new_sid

if TYPE_CHECKING:
    from .call import Call

HANDSHAKE_ERROR = 31920


@dataclass
class MediaStream:
    call: "Call"
    spec: StreamSpec
    callee: CalleeRuntime
    stream_sid: str = field(default_factory=lambda: new_sid("MZ"))
    received_audio: bytearray = field(default_factory=bytearray)  # every media byte received
    played: bytearray = field(default_factory=bytearray)  # what the caller heard, 1 frame/tick
    marks_received: list[str] = field(default_factory=list)
    marks_echoed: list[str] = field(default_factory=list)
    clears: list[dict] = field(default_factory=list)
    protocol_errors: list[dict] = field(default_factory=list)
    sent: list[dict] = field(default_factory=list)  # non-media messages sent to the server
    end_reason: str = ""

    def __post_init__(self) -> None:
        self.playback = Playback()
        self.seq = Sequencer(self.stream_sid, self.call.sid, self.call.account_sid)
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._lock = asyncio.Lock()

    @property
    def custom_parameters(self) -> dict[str, str]:
        return dict(self.spec.parameters)

    async def _send(self, msg: dict) -> None:
        if msg["event"] != "media":
            self.sent.append(msg)
        async with self._lock:
            if self._ws is not None and not self._ws.closed:
                with contextlib.suppress(ConnectionResetError, RuntimeError):
                    await self._ws.send_str(json.dumps(msg))

    async def run(self, stop: asyncio.Event) -> str:
        """Returns why the stream ended: server_closed | hangup | stopped | error | connect_failed."""
        emu = self.call.emu
        headers = {"X-Twilio-Signature": emu.signer.sign(self.spec.url, {}),
                   "User-Agent": "Twilio.TmeWs/1.0"}
        try:
            self._ws = await emu.http_session.ws_connect(self.spec.url, headers=headers, ssl=emu.stream_ssl or True,
                                                 timeout=aiohttp.ClientWSTimeout(ws_close=2.0),
                                                 autoping=True)
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as err:
            self.call.log("stream_error", code=HANDSHAKE_ERROR, error=repr(err))
            await self._stream_status("stream-error", error=f"{HANDSHAKE_ERROR}: {err!r}")
            self.end_reason = "connect_failed"
            return self.end_reason
        self.end_reason = await self._run_open(stop)
        return self.end_reason

    async def _run_open(self, stop: asyncio.Event) -> str:
        self.call.log("stream_open", url=self.spec.url, stream_sid=self.stream_sid)
        await self._send(self.seq.connected())
        await self._send(self.seq.start(self.spec.parameters))
        await self._stream_status("stream-started")
        tasks = {asyncio.create_task(self._reader(), name="reader"),
                 asyncio.create_task(self._ticker(), name="ticker"),
                 asyncio.create_task(stop.wait(), name="stop")}
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        reason = self._reason(done)
        if reason != "server_closed":
            await self._send(self.seq.stop())
            self.call.log("stop", reason=reason)
        await self._close()
        await self._stream_status("stream-stopped" if reason != "error" else "stream-error",
                                  error=(self.protocol_errors or [{}])[-1].get("message"))
        return reason

    def _reason(self, done: set[asyncio.Task]) -> str:
        by_name = {t.get_name(): t for t in done}
        for name in ("stop", "ticker", "reader"):  # a REST hang-up/redirect wins
            task = by_name.get(name)
            if task is None:
                continue
            if (error := task.exception()) is not None:
                self.call.emu.errors.append(error)
                return "server_closed"
            return "stopped" if name == "stop" else task.result()
        return "server_closed"

    async def _close(self) -> None:
        if self._ws is not None and not self._ws.closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 2.0)

    # ------------------------------------------------------------ server -> Twilio

    async def _reader(self) -> str:
        assert self._ws is not None
        async for msg in self._ws:
            if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                break
            try:
                await self._on_message(parse_server_message(msg.data, self.stream_sid))
            except StreamProtocolError as err:
                self.protocol_errors.append({"code": err.code, "message": str(err)})
                self.call.log("protocol_error", code=err.code, message=str(err))
                return "error"
        self.call.log("ws_closed_by_server", code=self._ws.close_code)
        return "server_closed"

    async def _on_message(self, msg: dict[str, Any]) -> None:
        event = msg["event"]
        if event == "media":
            self.playback.add_audio(msg["_audio"])
            self.received_audio.extend(msg["_audio"])
            return
        if event == "mark":
            name = msg["mark"]["name"]
            self.marks_received.append(name)
            self.call.log("mark_received", name=name)
            await self._echo(self.playback.add_mark(name))
            return
        dropped, marks = self.playback.clear()
        self.clears.append({"t": self.call.now(), "dropped_bytes": dropped, "marks": marks})
        self.call.log("clear", dropped_bytes=dropped, marks=marks)
        await self._echo(marks)

    async def _echo(self, marks: list[str]) -> None:
        for name in marks:
            self.marks_echoed.append(name)
            self.call.log("mark_echoed", name=name)
            await self._send(self.seq.mark(name))

    # ------------------------------------------------------------ Twilio -> server

    async def _ticker(self) -> str:
        loop = asyncio.get_running_loop()
        next_t = loop.time()
        max_s = self.callee.script.max_duration_s
        while True:
            played, marks = self.playback.tick()
            await self._echo(marks)
            self.played.extend(played + b"\xff" * (FRAME_BYTES - len(played)))
            frame, actions = self.callee.tick(agent_playing=bool(played))
            if await self._act(actions) or self.callee.t >= max_s:
                return "hangup"
            await self._send(self.seq.media(frame))
            next_t += TICK_S
            await asyncio.sleep(max(0.0, next_t - loop.time()))

    async def _act(self, actions: list[tuple[str, Any]]) -> bool:
        """Apply callee actions; True means the callee hung up."""
        for kind, value in actions:
            if kind == "hangup":
                self.call.log("callee_hangup")
                return True
            if kind == "dtmf":
                self.call.log("dtmf", digit=value)
                await self._send(self.seq.dtmf(value))
            else:
                self.call.log("callee_" + kind, text=value)
        return False

    async def _stream_status(self, event: str, error: str | None = None) -> None:
        if not self.spec.status_callback:
            return
        params = {"AccountSid": self.call.account_sid, "CallSid": self.call.sid,
                  "StreamSid": self.stream_sid, "StreamName": self.spec.name or self.stream_sid,
                  "StreamEvent": event,
                  "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if error:
            params["StreamError"] = error
        self.call.emu.post_callback(self.call, self.spec.status_callback, params,
                                    self.spec.status_callback_method, kind="stream_status")
