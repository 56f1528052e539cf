"""The Twilio REST API's error body (``code``, ``message``, ``more_info``, ``status``)."""
from __future__ import annotations

from typing import Any

from aiohttp import web


def twilio_error(status: int, code: int, message: str, **extra: Any) -> web.Response:
    body = {"code": code, "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status, **extra}
    return web.json_response(body, status=status)
