"""What a webhook may cost before its signature is checked: a body read deadline, a bound
on the requests one peer address may have still sending, and client faults (a dropped
connection, an unreadable body) reported as such — one log line, no traceback.

Limits are per TCP peer: behind a proxy that is the proxy (set the bound with its fan-in in
mind). Slow *headers* never reach the application; aiohttp has no header deadline, so the
proxy in front must bound them (see docs/ingress.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

import aiohttp
from aiohttp import http_exceptions, web
from multidict import MultiDict, MultiDictProxy

from .fields import BadWebhook

log = logging.getLogger(__name__)


class ClientFault(Exception):
    """The client, not the server, broke the exchange; ``status`` is what to answer."""

    def __init__(self, status: int, outcome: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.outcome, self.reason = status, outcome, reason


class SourceLimiter:
    """At most ``limit`` requests per peer address between arrival and signature check."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight: Counter[str] = Counter()
        self._noted: set[str] = set()   # sources already logged for this episode (one line, not one per request)

    def acquire(self, source: str) -> bool:
        if self.in_flight[source] >= self.limit:
            if source not in self._noted:
                self._noted.add(source)
                log.warning("too many unverified webhook requests from one source; refusing more",
                            extra={"peer": source, "limit": self.limit})
            return False
        self.in_flight[source] += 1
        return True

    def release(self, source: str) -> None:
        self.in_flight[source] -= 1
        if self.in_flight[source] <= 0:
            del self.in_flight[source]
            self._noted.discard(source)


async def read_form(request: web.Request, timeout_s: float) -> MultiDictProxy[str]:
    """The POST form, read within ``timeout_s``; client faults raise ``ClientFault``/``BadWebhook``."""
    try:
        async with asyncio.timeout(timeout_s):
            form = await request.post()
    except TimeoutError:
        raise ClientFault(408, "body_timeout", f"body not received within {timeout_s:g} s") from None
    except (ConnectionResetError, aiohttp.ClientPayloadError, http_exceptions.HttpProcessingError):
        raise ClientFault(400, "client_gone", "client disconnected while sending the body") from None
    except (UnicodeDecodeError, ValueError):
        raise BadWebhook("the form body cannot be decoded") from None
    text = MultiDict[str]()
    for name, value in form.items():
        if not isinstance(value, str):  # a multipart file part: Twilio never sends one
            raise BadWebhook("a form field is not text")
        text.add(name, value)
    return MultiDictProxy(text)


def fault_response(fault: ClientFault) -> web.Response:
    response = web.Response(status=fault.status, text=fault.reason)
    response.force_close()  # never wait for the rest of a body we gave up on
    return response
