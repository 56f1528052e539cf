"""Wire-level leniency of the Live endpoint (raw websockets client) and CA trust paths."""
from __future__ import annotations

import asyncio
import base64
import json

import numpy as np
import pytest
import websockets
from google import genai
from google.genai import types

from emulators.audio import speech_like
from emulators.gemini import Scenario

from .conftest import collect_turn, live_config, scenario, turn_text

PATH = "/ws/google.ai.generativelanguage.{v}.GenerativeService.BidiGenerateContent"


async def _recv_json(ws) -> dict:
    return json.loads(await ws.recv())


@pytest.mark.parametrize("version,prefix", [("v1", "//"), ("v1alpha", "/"), ("v1beta", "//")])
async def test_raw_client_camel_case_standard_base64_and_query_key(gemini, version, prefix):
    gemini.scenario = Scenario.load(scenario({"listen": "hi"}, {"say": "Yes."}))
    url = f"wss://127.0.0.1:{gemini.port}{prefix}{PATH.format(v=version).lstrip('/')}?key=test-key"
    async with websockets.connect(url, ssl=gemini.ssl_context()) as ws:
        await ws.send(json.dumps({"setup": {"model": "models/gemini-3.8-live",
                                            "inputAudioTranscription": {},
                                            "realtimeInputConfig": {"automaticActivityDetection": {
                                                "silenceDurationMs": 300}}}}))
        first = await ws.recv()
        assert isinstance(first, bytes) and json.loads(first) == {"setupComplete": {}}
        pcm = np.concatenate([speech_like("hi there", 16000), np.zeros(8000, np.int16)])
        for i in range(0, len(pcm), 3200):  # standard (not URL-safe) base64, camelCase keys
            data = base64.b64encode(pcm[i:i + 3200].tobytes()).decode()
            await ws.send(json.dumps({"realtimeInput": {"audio": {"data": data,
                                                                  "mimeType": "audio/pcm;rate=16000"}}}))
        msgs = [await _recv_json(ws) for _ in range(2)]
    assert msgs[0] == {"serverContent": {"inputTranscription": {"text": "hi", "finished": True}}}
    assert "inlineData" in msgs[1]["serverContent"]["modelTurn"]["parts"][0]


async def test_non_setup_first_frame_and_garbage_close_1007(gemini):
    url = f"wss://127.0.0.1:{gemini.port}{PATH.format(v='v1beta')}"
    headers = {"x-goog-api-key": "test-key"}
    for first in ('{"realtimeInput": {"text": "x"}}', "not json"):
        async with websockets.connect(url, ssl=gemini.ssl_context(), additional_headers=headers) as ws:
            await ws.send(first)
            with pytest.raises(websockets.ConnectionClosed) as exc:
                await ws.recv()
        assert exc.value.rcvd.code == 1007


async def test_text_frames_option_and_two_kinds_in_one_frame(gemini):
    gemini.binary_frames = False
    url = f"wss://127.0.0.1:{gemini.port}{PATH.format(v='v1beta')}"
    async with websockets.connect(url, ssl=gemini.ssl_context(),
                                  additional_headers={"x-goog-api-key": "test-key"}) as ws:
        await ws.send(json.dumps({"setup": {"model": "models/gemini-3.8-live"}}))
        assert isinstance(await ws.recv(), str)
        await ws.send(json.dumps({"realtime_input": {"text": "a"}, "client_content": {"turns": []}}))
        with pytest.raises(websockets.ConnectionClosed) as exc:
            await ws.recv()
    assert exc.value.rcvd.code == 1007


async def test_trust_via_ssl_cert_file_for_rest_and_live(gemini, monkeypatch):
    """The env-var route: SSL_CERT_FILE must be *set* (not setdefault) before Client()."""
    monkeypatch.setenv("SSL_CERT_FILE", gemini.ca_file)
    gemini.scenario = Scenario.load(scenario({"say": "Trusted."}))
    client = genai.Client(api_key="test-key", http_options=types.HttpOptions(
        base_url=gemini.base_url + "/", api_version="v1beta"))
    emb = await asyncio.to_thread(  # sync client = httpx2
        client.models.embed_content, model="gemini-embedding-001", contents="x")
    aemb = await client.aio.models.embed_content(model="gemini-embedding-001", contents="x")  # aiohttp
    assert emb.embeddings[0].values == aemb.embeddings[0].values
    async with client.aio.live.connect(model="gemini-3.8-live", config=live_config()) as s:
        assert turn_text(await collect_turn(s)) == "Trusted."
    assert gemini.requests[-1]["path"].startswith("//ws/")  # trailing-slash base_url


async def test_untrusted_client_cannot_connect(gemini, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    client = genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=gemini.base_url))
    with pytest.raises(Exception) as exc:
        async with client.aio.live.connect(model="gemini-3.8-live"):
            pass
    assert "CERTIFICATE_VERIFY_FAILED" in repr(exc.value) or "certificate" in str(exc.value).lower()
