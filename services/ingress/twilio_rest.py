"""The official twilio SDK, async, pointed at ``TWILIO_API_BASE_URL`` (the emulator in tests).

``Client(..., environment={})`` keeps TWILIO_EDGE / TWILIO_REGION from rewriting the host;
``client.api.base_url`` is the scheme + host the SDK prefixes ``/2010-04-01/...`` with.
"""

from __future__ import annotations

import logging

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from services.common.settings import Settings

HTTP_TIMEOUT_S = 10.0
# The SDK logs request bodies (phone numbers) at INFO; keep them out of our logs.
_sdk_log = logging.getLogger(f"{__name__}.twilio_sdk")
_sdk_log.setLevel(logging.WARNING)


def api_base_url(configured: str) -> str:
    """Accept ``http://host:port`` or ``http://host:port/2010-04-01`` (both seen in configs)."""
    base = configured.rstrip("/")
    return base.removesuffix("/2010-04-01")


def create_client(settings: Settings) -> tuple[Client, AsyncTwilioHttpClient]:
    """Build inside a running event loop (aiohttp session); close the http client when done."""
    http = AsyncTwilioHttpClient(timeout=HTTP_TIMEOUT_S, logger=_sdk_log)
    client = Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http, environment={})
    if settings.twilio_api_base_url:
        client.api.base_url = api_base_url(settings.twilio_api_base_url)
    return client, http
