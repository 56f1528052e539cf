"""Admission of a Twilio media stream: upgrade signature, the ``start`` message, the token.

The signed token is the only source of call context; its ``call_sid`` must be the
``start.callSid``.

Pure checks plus the small read loop up to ``start``; the call itself lives in call.py.
"""

from __future__ import annotations

import asyncio
import hmac
from urllib.parse import urlsplit, urlunsplit

from aiohttp import WSMsgType, web
from twilio.request_validator import RequestValidator

from services.common import media_token
from services.common.settings import Settings
from services.common.stream_parameters import join_parameter

from .codecs import twilio as wire
from .personas import CALL_TYPES, CallContext, context_from_claims


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


async def read_start(ws: web.WebSocketResponse, timeout: float) -> wire.Start:
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
    """Verify the one-time token (signature, expiry, the call it was issued for, single use) and
    build the call context from its claims alone; every other ``customParameter`` is ignored."""
    token = join_parameter(start.start.custom_parameters, media_token.TOKEN_PARAMETER)
    try:
        claims = media_token.verify(settings.media_token_secret, token)
    except media_token.TokenError as exc:
        raise StreamRejected(f"media token refused: {exc}") from None
    if claims.call_type not in CALL_TYPES:
        raise StreamRejected(f"unknown call type {claims.call_type[:20]!r}")
    if not hmac.compare_digest(claims.call_sid.encode(), start.start.call_sid.encode()):
        raise StreamRejected("start.callSid does not match the media token")
    try:
        used.consume(claims)
    except media_token.TokenError as exc:
        raise StreamRejected(f"media token refused: {exc}") from None
    return context_from_claims(claims, stream_sid=start.stream_sid)
