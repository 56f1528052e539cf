"""The reference for bench/bridge_bench.py: a Twilio <-> Gemini Live bridge built the way
Pipecat builds one (TwilioFrameSerializer + SOXRStreamAudioResampler + the SDK session),
measured on the same load in the same run.

Per caller frame: ``json.loads``, ``base64.b64decode``, ``audioop.ulaw2lin``, a soxr VHQ
stream 8 -> 16 kHz, ``session.send_realtime_input(audio=Blob(...))``. Per Gemini message:
the SDK's ``receive()`` (pydantic), soxr 24 -> 8 kHz, ``audioop.lin2ulaw``, ``base64`` and
``json.dumps``, one Twilio media message per chunk. No marks, pacing, transcripts, tools,
tokens or signatures: only the audio path, so the comparison favours the reference.
Metrics have the bridge's names (plain counters, like ours) so the bench reads both alike.

    python -m bench.reference_bridge   (env: BRIDGE_PORT, GEMINI_*, as for the bridge)
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import time

import soxr
from aiohttp import WSMsgType, web
from google.genai import types
from prometheus_client import CollectorRegistry, generate_latest

from services.bridge.audio.g711 import audioop
from services.bridge.live_config import make_client
from services.bridge.metrics import BridgeMetrics
from services.common.settings import Settings


class ReferenceCall:
    def __init__(self, ws: web.WebSocketResponse, app: ReferenceBridge) -> None:
        self.ws, self.app, self.sid = ws, app, ""
        self.session = None
        self.up = soxr.ResampleStream(8000, 16000, 1, dtype="int16", quality="VHQ")
        self.down = soxr.ResampleStream(24000, 8000, 1, dtype="int16", quality="VHQ")

    async def run(self) -> None:
        connector = self.app.client.aio.live.connect(
            model=self.app.settings.gemini_live_model,
            config=types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO]))
        gemini = asyncio.create_task(self._gemini(connector))
        try:
            async for msg in self.ws:
                if msg.type != WSMsgType.TEXT:
                    break
                data = json.loads(msg.data)
                if data["event"] == "media":
                    await self._media(data["media"]["payload"])
                elif data["event"] == "start":
                    self.sid = data["streamSid"]
                elif data["event"] == "stop":
                    break
        finally:
            gemini.cancel()
            with contextlib.suppress(BaseException):
                await gemini

    async def _media(self, payload: str) -> None:
        t0 = time.perf_counter()
        m = self.app.metrics
        m.frames_in.value += 1
        pcm = self.up.resample_chunk(_int16(audioop.ulaw2lin(base64.b64decode(payload), 2))).tobytes()
        if self.session is not None:
            await self.session.send_realtime_input(audio=types.Blob(data=pcm, mime_type="audio/pcm;rate=16000"))
        m.forward_in.observe(time.perf_counter() - t0)

    async def _gemini(self, connector) -> None:
        async with connector as session:
            self.session = session
            while True:
                async for msg in session.receive():
                    sc = msg.server_content
                    if sc and sc.model_turn and sc.model_turn.parts:
                        for part in sc.model_turn.parts:
                            if part.inline_data and part.inline_data.data:
                                await self._agent_audio(part.inline_data.data)

    async def _agent_audio(self, pcm24k: bytes) -> None:
        t0 = time.perf_counter()
        pcm8k = self.down.resample_chunk(_int16(pcm24k)).tobytes()
        payload = base64.b64encode(audioop.lin2ulaw(pcm8k, 2)).decode()
        await self.ws.send_str(json.dumps({"event": "media", "streamSid": self.sid, "media": {"payload": payload}}))
        self.app.metrics.frames_out.value += len(pcm8k) // 320
        self.app.metrics.forward_out.observe(time.perf_counter() - t0)


def _int16(pcm: bytes):
    import numpy as np
    return np.frombuffer(pcm, dtype=np.int16)


class ReferenceBridge:
    def __init__(self) -> None:
        self.settings = Settings.from_env("bridge")
        self.registry = CollectorRegistry()
        self.metrics = BridgeMetrics(self.registry)
        self.client = make_client(self.settings)

    async def media(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ReferenceCall(ws, self).run()
        return ws

    async def metrics_page(self, request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self.registry), content_type="text/plain")

    async def probe_loop_lag(self, app: web.Application) -> None:
        async def probe() -> None:
            loop = asyncio.get_running_loop()
            while True:
                t0 = loop.time()
                await asyncio.sleep(0.01)
                self.metrics.loop_lag.observe(max(0.0, loop.time() - t0 - 0.01))
        app["probe"] = asyncio.create_task(probe())


def main() -> None:
    bridge = ReferenceBridge()
    app = web.Application()
    app.router.add_get("/twilio/media", bridge.media)
    app.router.add_get("/metrics", bridge.metrics_page)
    app.router.add_get("/readyz", lambda r: web.Response(text="ok"))
    app.on_startup.append(bridge.probe_loop_lag)
    web.run_app(app, host="127.0.0.1", port=int(os.environ["BRIDGE_PORT"]), print=None)


if __name__ == "__main__":
    main()
