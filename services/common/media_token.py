"""Signed, expiring, single-use tokens that ingress puts in the TwiML ``<Parameter>``s and
the bridge checks in the media stream's ``start`` message.

Format: ``base64url(json claims) + "." + base64url(HMAC-SHA256(secret, claims))``.
Single use is enforced by the verifier (``UsedTokens``): a nonce is accepted once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass


class TokenError(ValueError):
    """The token is malformed, forged, expired or already used."""


@dataclass(frozen=True)
class MediaClaims:
    call_id: str
    call_type: str
    property_id: str
    incident_id: str = ""
    expires_at: float = 0.0
    nonce: str = ""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(secret: str, claims: MediaClaims, ttl_s: float = 120.0) -> str:
    if not secret:
        raise ValueError("MEDIA_TOKEN_SECRET is not set")
    stamped = MediaClaims(**{**asdict(claims), "expires_at": time.time() + ttl_s, "nonce": secrets.token_hex(12)})
    body = _b64(json.dumps(asdict(stamped), separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_sign(secret, body)}"


def _sign(secret: str, body: str) -> str:
    return _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())


def verify(secret: str, token: str, now: float | None = None) -> MediaClaims:
    """Check signature and expiry; does not consume the token (see ``UsedTokens``)."""
    try:
        body, signature = token.split(".", 1)
    except (AttributeError, ValueError):
        raise TokenError("malformed token") from None
    if not secret or not hmac.compare_digest(signature, _sign(secret, body)):
        raise TokenError("bad signature")
    try:
        claims = MediaClaims(**json.loads(_unb64(body)))
    except (ValueError, TypeError):
        raise TokenError("malformed claims") from None
    if claims.expires_at < (time.time() if now is None else now):
        raise TokenError("expired")
    return claims


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
