"""A hostile Twilio: signs a voice webhook itself (to get a real call row and a real token from
the real ingress), then opens the media stream by hand with whatever ``start`` it likes."""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET

import aiohttp
from twilio.request_validator import RequestValidator

from .harness import AUTH_TOKEN, GUEST_NUMBER, P1_NUMBER, World


def new_sid() -> str:
    return "CA" + uuid.uuid4().hex


def upgrade_headers(url: str) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(url, {})}


def bridge_url(port: int) -> str:
    return f"ws://127.0.0.1:{port}/twilio/media"


async def post_signed(world: World, path: str, params: dict[str, str]) -> tuple[int, str]:
    url = world.ingress.url + path  # the world's PUBLIC_BASE_URL is the ingress's local URL
    sig = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=params, headers={"X-Twilio-Signature": sig}) as resp:
            return resp.status, await resp.text()


async def voice_webhook(world: World, sid: str, from_: str = GUEST_NUMBER) -> tuple[int, str]:
    return await post_signed(world, "/twilio/voice", {
        "CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": from_, "To": P1_NUMBER, "CallStatus": "ringing",
        "Direction": "inbound", "ApiVersion": "2010-04-01"})


def stream_parameters(twiml: str) -> dict[str, str]:
    """The ``<Parameter>``s of the TwiML's ``<Stream>`` ({} when it does not stream)."""
    stream = ET.fromstring(twiml).find("./Connect/Stream")
    return {} if stream is None else {p.get("name"): p.get("value") for p in stream.findall("Parameter")}


def start_message(call_sid: str, params: dict[str, str], stream_sid: str = "MZ" + "0" * 32) -> str:
    return json.dumps({"event": "start", "sequenceNumber": "1", "streamSid": stream_sid, "start": {
        "accountSid": "AC" + "0" * 32, "streamSid": stream_sid, "callSid": call_sid, "tracks": ["inbound"],
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        "customParameters": params}})


async def open_stream(http: aiohttp.ClientSession, port: int, call_sid: str,
                      params: dict[str, str]) -> aiohttp.ClientWebSocketResponse:
    url = bridge_url(port)
    ws = await http.ws_connect(url, headers=upgrade_headers(url))
    await ws.send_str(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
    await ws.send_str(start_message(call_sid, params))
    return ws


async def closed_with(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> int | None:
    """The close code the server sent (None if it did not close in time)."""
    try:
        while True:
            msg = await ws.receive(timeout=timeout)
            if msg.type == aiohttp.WSMsgType.CLOSE:
                return msg.data
            if msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                return ws.close_code
    except TimeoutError:
        return None
