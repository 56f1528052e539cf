"""Signed, expiring, single-use tokens: the only source of a media stream's call context.

Ingress issues one in the TwiML (split over ``<Parameter>``s ``token``, ``token_2`` … by
``services.common.stream_parameters``); the bridge verifies it in the ``start`` message and
builds the call from its claims alone. Everything else the stream sends is ignored.

Format: ``base64url(zlib(json claims)) + "." + base64url(HMAC-SHA256(secret, that))``.
The claims are compressed so a briefing fits Twilio's parameter limits; ``issue`` cuts the
briefing until the token fits ``TOKEN_MAX_CHARS``. Decompression runs only on a body whose
signature verified, and is bounded. Single use is enforced by the verifier (``UsedTokens``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
import zlib

import msgspec

from .stream_parameters import MAX_PARTS, PARAMETER_LIMIT

TOKEN_PARAMETER = "token"
# The token travels as token, token_2 … token_8: each part's name + value stays under Twilio's limit.
TOKEN_MAX_CHARS = MAX_PARTS * (PARAMETER_LIMIT - len(f"{TOKEN_PARAMETER}_{MAX_PARTS}"))
MAX_CLAIMS_BYTES = 64 * 1024   # decompressed; a verified token is never near this
MAX_BRIEFING_CHARS = 4000


class TokenError(ValueError):
    """The token is malformed, forged, expired or already used."""


class MediaClaims(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Everything the bridge knows about a call. ``call_sid`` binds the token to one Twilio
    call: a ``start`` whose ``callSid`` differs is refused."""

    call_id: str
    call_sid: str
    call_type: str                 # guest | vendor | landlord
    property_id: str
    incident_id: str = ""
    direction: str = ""            # inbound | outbound
    from_number: str = ""          # as verified by Twilio (inbound: the caller; outbound: the property line)
    to_number: str = ""
    vendor_id: str = ""
    landlord_id: str = ""
    property_name: str = ""
    property_address: str = ""
    property_timezone: str = ""    # IANA name: times are said in the property's local time
    callback_number: str = ""      # the property line a voicemail asks to call back
    briefing: str = ""
    answered_by: str = ""
    handoff_number: str = ""       # whom a warm hand-off dials (the property's manager line)
    stream_leg: int = 0            # 0: the call's first stream; n: the n-th return to the agent after a hand-off
    expires_at: float = 0.0
    nonce: str = ""

    @property
    def other_party_number(self) -> str:
        """The number of whoever the agent talks with."""
        return self.to_number if self.direction == "outbound" else self.from_number


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, body: str) -> str:
    return _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())


def _encode(secret: str, claims: MediaClaims) -> str:
    body = _b64(zlib.compress(msgspec.json.encode(claims), 9))
    return f"{body}.{_sign(secret, body)}"


def issue(secret: str, claims: MediaClaims, ttl_s: float = 120.0, max_chars: int = TOKEN_MAX_CHARS) -> str:
    """A fresh token (new nonce, expiry now + ``ttl_s``); the briefing is cut until it fits."""
    if not secret:
        raise ValueError("MEDIA_TOKEN_SECRET is not set")
    stamped = msgspec.structs.replace(claims, briefing=claims.briefing[:MAX_BRIEFING_CHARS],
                                      expires_at=time.time() + ttl_s, nonce=secrets.token_hex(12))
    token = _encode(secret, stamped)
    while len(token) > max_chars and stamped.briefing:
        keep = int(len(stamped.briefing) * max_chars / len(token) * 0.9)
        stamped = msgspec.structs.replace(stamped, briefing=stamped.briefing[:keep])
        token = _encode(secret, stamped)
    if len(token) > max_chars:
        raise ValueError(f"media token claims do not fit {max_chars} characters even without a briefing")
    return token


def verify(secret: str, token: str, now: float | None = None) -> MediaClaims:
    """Check signature and expiry; does not consume the token (see ``UsedTokens``)."""
    try:
        body, signature = token.split(".", 1)
    except (AttributeError, ValueError):
        raise TokenError("malformed token") from None
    if not secret or not hmac.compare_digest(signature.encode(), _sign(secret, body).encode()):
        raise TokenError("bad signature")
    claims = _decode(body)
    if claims.expires_at < (time.time() if now is None else now):
        raise TokenError("expired")
    if not (claims.call_id and claims.call_sid and claims.property_id and claims.nonce):
        raise TokenError("incomplete claims")
    return claims


def _decode(body: str) -> MediaClaims:
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(_unb64(body), MAX_CLAIMS_BYTES)
    except (binascii.Error, ValueError, zlib.error):
        raise TokenError("malformed claims") from None
    if inflater.unconsumed_tail:
        raise TokenError("claims too large")
    try:
        return msgspec.json.decode(raw, type=MediaClaims)
    except msgspec.DecodeError:
        raise TokenError("malformed claims") from None


class UsedTokens:
    """Remembers accepted nonces until they expire, so a token works once per process."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}

    def consume(self, claims: MediaClaims, now: float | None = None) -> None:
        now = time.time() if now is None else now
        self._seen = {n: exp for n, exp in self._seen.items() if exp >= now}
        if claims.nonce in self._seen:
            raise TokenError("token already used")
        self._seen[claims.nonce] = claims.expires_at
