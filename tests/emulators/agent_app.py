"""A minimal stand-in for the Fixline bridge, used only to exercise the Twilio emulator:
serves the voice webhook (signature-checked), the Media Stream WebSocket (signature
checked before upgrade) and status callbacks. Behaviour is a per-test ``on_stream`` coroutine.
"""
from __future__ import annotations

import asyncio
import base64
import json
from typing import Awaitable, Callable

from aiohttp import WSMsgType, web
from twilio.request_validator import RequestValidator

from emulators.audio import pcm16_to_ulaw, speech_like

StreamHandler = Callable[["StreamCtx"], Awaitable[None]]


class StreamCtx:
    def __init__(self, ws: web.WebSocketResponse):
        self.ws = ws
        self.messages: list[dict] = []
        self.stream_sid = ""
        self.inbox: asyncio.Queue[dict] = asyncio.Queue()

    async def send(self, event: str, **body) -> None:
        await self.ws.send_str(json.dumps({"event": event, "streamSid": self.stream_sid, **body}))

    async def send_audio(self, text: str) -> int:
        data = pcm16_to_ulaw(speech_like(text, 8000))
        for i in range(0, len(data), 1600):  # 200 ms payloads, faster than real time
            await self.send("media", media={"payload": base64.b64encode(data[i:i + 1600]).decode()})
        return len(data)

    async def next_event(self, name: str, timeout: float = 10.0) -> dict:
        while True:
            msg = await asyncio.wait_for(self.inbox.get(), timeout)
            if msg["event"] == name:
                return msg


class AgentApp:
    def __init__(self, auth_token: str, twiml: str | Callable[[], str] = "", on_stream: StreamHandler | None = None):
        self.validator = RequestValidator(auth_token)
        self.media_validator = self.validator
        self.twiml = twiml
        self.on_stream = on_stream
        self.webhooks: list[dict] = []
        self.callbacks: list[dict] = []
        self.streams: list[StreamCtx] = []
        self.rejected: list[str] = []
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/media"

    async def __aenter__(self) -> "AgentApp":
        app = web.Application()
        app.router.add_post("/voice", self._voice)
        app.router.add_post("/voice2", self._voice)
        app.router.add_post("/status", self._callback)
        app.router.add_post("/stream-status", self._callback)
        app.router.add_post("/amd", self._callback)
        app.router.add_post("/recording", self._callback)
        app.router.add_get("/media", self._media)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        await self._runner.cleanup()

    def _valid(self, request: web.Request, url: str, params, validator=None) -> bool:
        validator = validator or self.validator
        return validator.validate(url, params, request.headers.get("X-Twilio-Signature", ""))

    async def _voice(self, request: web.Request) -> web.Response:
        form = await request.post()
        if not self._valid(request, str(request.url), form):
            self.rejected.append("voice")
            return web.Response(status=403)
        self.webhooks.append({"path": request.path, **form})
        twiml = self.twiml() if callable(self.twiml) else self.twiml
        return web.Response(text=twiml, content_type="text/xml")

    async def _callback(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.callbacks.append({"path": request.path, "valid": self._valid(request, str(request.url), form),
                               **form})
        return web.Response(status=204)

    async def _media(self, request: web.Request) -> web.StreamResponse:
        url = f"ws://127.0.0.1:{self.port}{request.path_qs}"
        if not self._valid(request, url, {}, self.media_validator):
            self.rejected.append("media")
            return web.Response(status=403)  # before the upgrade, as Twilio expects
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        ctx = StreamCtx(ws)
        self.streams.append(ctx)
        handler = asyncio.create_task(self.on_stream(ctx)) if self.on_stream else None
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            data = json.loads(msg.data)
            ctx.messages.append(data)
            if data["event"] == "start":
                ctx.stream_sid = data["streamSid"]
            ctx.inbox.put_nowait(data)
        if handler:
            handler.cancel()
        return ws
