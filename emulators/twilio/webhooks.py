"""Signed HTTP requests from "Twilio" to the application (webhooks and callbacks)."""
from __future__ import annotations

import datetime as dt
import email.utils
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import aiohttp
from twilio.request_validator import RequestValidator

USER_AGENT = "TwilioProxy/1.1"


def rfc2822(when: dt.datetime | None = None) -> str:
    return email.utils.format_datetime(when or dt.datetime.now(dt.timezone.utc), usegmt=False) \
        .replace("-0000", "+0000")


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


@dataclass
class WebhookResult:
    status: int
    body: str
    content_type: str


class Signer:
    """Computes ``X-Twilio-Signature`` exactly as Twilio does (via the SDK's validator)."""

    def __init__(self, auth_token: str):
        self.validator = RequestValidator(auth_token)

    def sign(self, url: str, params: dict[str, str] | None = None) -> str:
        return self.validator.compute_signature(url, params or {})


async def send_webhook(session: aiohttp.ClientSession, signer: Signer, url: str,
                       params: dict[str, str], method: str = "POST",
                       timeout_s: float = 15.0) -> WebhookResult:
    """POST form params (or GET with a query string) signed with the auth token."""
    headers = {"User-Agent": USER_AGENT, "I-Twilio-Idempotency-Token": secrets.token_hex(16),
               "Accept": "*/*"}
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    if method.upper() == "GET":
        sep = "&" if urlsplit(url).query else "?"
        full = f"{url}{sep}{urlencode(params)}" if params else url
        headers["X-Twilio-Signature"] = signer.sign(full, {})
        async with session.get(full, headers=headers, timeout=timeout) as resp:
            return WebhookResult(resp.status, await resp.text(), resp.content_type)
    headers["X-Twilio-Signature"] = signer.sign(url, params)
    headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    async with session.post(url, data=urlencode(params), headers=headers, timeout=timeout) as resp:
        return WebhookResult(resp.status, await resp.text(), resp.content_type)
