"""Admission of a Twilio media stream: upgrade signature, the ``start`` message, the token.

Pure checks plus the small read loop up to ``start``; the call itself lives in call.py.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit, urlunsplit

from aiohttp import WSMsgType, web
from twilio.request_validator import RequestValidator

from services.common import media_token
from services.common.settings import Settings
from services.common.stream_parameters import join_parameter

from .codecs import twilio as wire
from .personas import CALL_TYPES, MAX_PARAMETER_CHARS, OPTIONAL_PARAMETERS, CallContext

START_TIMEOUT_S = 10.0


class StreamRejected(Exception):
    """The stream is refused; ``reason`` is safe to log (no token, no signature)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def media_stream_url(settings: Settings) -> str:
    """The URL Twilio signs: ``MEDIA_STREAM_URL``, else PUBLIC_BASE_URL with a ws(s) scheme
    + /twilio/media — the same rule ingress uses to build the TwiML ``<Stream url>``."""
    if settings.media_stream_url:
        return settings.media_stream_url
    parts = urlsplit(settings.public_base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/twilio/media", "", ""))


class UpgradeVerifier:
    """``X-Twilio-Signature`` on the WebSocket upgrade: HMAC over the stream URL, empty params;
    the URL with a trailing ``/`` is accepted too (Twilio's own advice for WSS handshakes)."""

    def __init__(self, settings: Settings) -> None:
        self.validator = RequestValidator(settings.twilio_auth_token) if settings.twilio_auth_token else None
        url = media_stream_url(settings).rstrip("/")
        self.candidates = (url, url + "/")

    def check(self, request: web.Request) -> str | None:
        """None when valid, else the reason to refuse with 403."""
        if self.validator is None:
            return "TWILIO_AUTH_TOKEN is not configured"
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            return "missing X-Twilio-Signature"
        if any(self.validator.validate(url, {}, signature) for url in self.candidates):
            return None
        return "bad X-Twilio-Signature"


async def read_start(ws: web.WebSocketResponse, timeout: float = START_TIMEOUT_S) -> wire.Start:
    """Read ``connected`` then ``start``; anything else first is a refusal."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise StreamRejected("no start message in time")
        msg = await ws.receive(timeout=remaining)
        if msg.type != WSMsgType.TEXT:
            raise StreamRejected(f"stream ended before start ({msg.type.name})")
        try:
            decoded = wire.decode(msg.data)
        except wire.TwilioCodecError as exc:
            raise StreamRejected(str(exc)[:200]) from None
        if isinstance(decoded, wire.Start):
            return decoded
        if not isinstance(decoded, wire.Connected):
            raise StreamRejected(f"{type(decoded).__name__.lower()} before start")


def admit(start: wire.Start, settings: Settings, used: media_token.UsedTokens) -> CallContext:
    """Verify the one-time token (signature, expiry, single use) and build the call context."""
    params = start.start.custom_parameters
    token = params.get("token", "")
    try:
        claims = media_token.verify(settings.media_token_secret, token)
    except media_token.TokenError as exc:
        raise StreamRejected(f"media token refused: {exc}") from None
    if claims.call_type not in CALL_TYPES:
        raise StreamRejected(f"unknown call type {claims.call_type[:20]!r}")
    if params.get("call_id", claims.call_id) != claims.call_id:
        raise StreamRejected("call_id parameter does not match the token")
    try:
        used.consume(claims)
    except media_token.TokenError as exc:
        raise StreamRejected(f"media token refused: {exc}") from None
    optional = {k: join_parameter(params, k)[:MAX_PARAMETER_CHARS] for k in OPTIONAL_PARAMETERS if params.get(k)}
    return CallContext(call_id=claims.call_id, call_type=claims.call_type, property_id=claims.property_id,
                       incident_id=claims.incident_id, call_sid=start.start.call_sid,
                       stream_sid=start.stream_sid, **optional)
