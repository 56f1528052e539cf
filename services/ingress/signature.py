"""``X-Twilio-Signature`` checks on webhooks.

The URL Twilio signed is rebuilt from the configured ``PUBLIC_BASE_URL`` plus the raw
request path and query, never from ``Host`` / ``X-Forwarded-*`` (spoofable). The form is
passed to the SDK validator as aiohttp's multidict so repeated keys are signed correctly.
"""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDictProxy
from twilio.request_validator import RequestValidator

HEADER = "X-Twilio-Signature"


class SignatureError(Exception):
    """The request is not provably from Twilio."""


class WebhookVerifier:
    def __init__(self, auth_token: str, public_base_url: str) -> None:
        self._validator = RequestValidator(auth_token) if auth_token else None
        self._base = public_base_url.rstrip("/")

    def url_for(self, request: web.Request) -> str:
        return self._base + request.raw_path

    def verify(self, request: web.Request, form: MultiDictProxy[str]) -> None:
        """Raise ``SignatureError`` unless the signature matches the URL and this form."""
        signature = request.headers.get(HEADER, "")
        if not signature or self._validator is None:
            raise SignatureError("missing signature" if self._validator else "TWILIO_AUTH_TOKEN is not set")
        if not self._validator.validate(self.url_for(request), form, signature):
            raise SignatureError("signature mismatch")
