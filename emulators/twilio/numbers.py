"""Twilio REST API (2010-04-01) IncomingPhoneNumbers resource: list (filter by PhoneNumber,
FriendlyName), fetch and update (VoiceUrl, VoiceMethod, StatusCallback, StatusCallbackMethod...),
as ``twilio.rest.api.v2010.account.incoming_phone_number`` speaks it. A call placed to a
configured number (``place_inbound_call`` without ``voice_url``) rings that number's VoiceUrl
and reports to its StatusCallback (terminal events only, as Twilio does for inbound calls)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .errors import twilio_error
from .webhooks import new_sid, rfc2822

URL = re.compile(r"^https?://[^/\s]+(/\S*)?$")
URL_FIELDS = {"VoiceUrl": "voice_url", "VoiceFallbackUrl": "voice_fallback_url", "StatusCallback": "status_callback",
              "SmsUrl": "sms_url", "SmsFallbackUrl": "sms_fallback_url"}
METHOD_FIELDS = {"VoiceMethod": "voice_method", "VoiceFallbackMethod": "voice_fallback_method",
                 "StatusCallbackMethod": "status_callback_method", "SmsMethod": "sms_method",
                 "SmsFallbackMethod": "sms_fallback_method"}


@dataclass
class IncomingNumber:
    sid: str
    account_sid: str
    phone_number: str
    friendly_name: str
    config: dict[str, str] = field(default_factory=lambda: {
        "voice_url": "", "voice_method": "POST", "voice_fallback_url": "", "voice_fallback_method": "POST",
        "status_callback": "", "status_callback_method": "POST", "sms_url": "", "sms_method": "POST",
        "sms_fallback_url": "", "sms_fallback_method": "POST"})
    date_created: datetime = field(default_factory=lambda: datetime.now(UTC))
    date_updated: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        base = f"/2010-04-01/Accounts/{self.account_sid}/IncomingPhoneNumbers/{self.sid}"
        return {
            "account_sid": self.account_sid, "address_requirements": "none", "address_sid": None,
            "api_version": "2010-04-01", "beta": False, "bundle_sid": None,
            "capabilities": {"fax": False, "mms": True, "sms": True, "voice": True},
            "date_created": rfc2822(self.date_created), "date_updated": rfc2822(self.date_updated),
            "emergency_address_sid": None, "emergency_address_status": "unregistered", "emergency_status": "Active",
            "friendly_name": self.friendly_name, "identity_sid": None, "origin": "twilio",
            "phone_number": self.phone_number, "sid": self.sid, "sms_application_sid": "", "status": "in-use",
            "subresource_uris": {"assigned_add_ons": f"{base}/AssignedAddOns.json"}, "trunk_sid": None,
            "type": "local", "uri": f"{base}.json", "voice_application_sid": "", "voice_caller_id_lookup": False,
            "voice_receive_mode": "voice", **{k: v or None for k, v in self.config.items() if k.endswith("_url")
                                             or k == "status_callback"},
            **{k: v for k, v in self.config.items() if k.endswith("_method")},
        }


class IncomingNumbersApi:
    """``auth`` checks a request (the Calls API's check: None or the error response);
    ``requests`` is the emulator's log of REST writes."""

    def __init__(self, account_sid: str, auth: Callable[[web.Request], web.Response | None],
                 requests: list[tuple[str, str, Any]]) -> None:
        self.account_sid, self._auth, self.requests = account_sid, auth, requests
        self.numbers: dict[str, IncomingNumber] = {}

    def add(self, phone_number: str, friendly_name: str = "") -> IncomingNumber:
        number = IncomingNumber(new_sid("PN"), self.account_sid, phone_number, friendly_name or phone_number)
        self.numbers[number.sid] = number
        return number

    def by_phone(self, phone_number: str) -> IncomingNumber | None:
        return next((n for n in self.numbers.values() if n.phone_number == phone_number), None)

    def routes(self) -> list[web.RouteDef]:
        base = "/2010-04-01/Accounts/{account}/IncomingPhoneNumbers"
        return [web.get(base + ".json", self.list), web.get(base + "/{sid}.json", self.fetch),
                web.post(base + "/{sid}.json", self.update)]

    async def list(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        query = request.query
        found = [n for n in self.numbers.values()
                 if query.get("PhoneNumber", n.phone_number) == n.phone_number
                 and query.get("FriendlyName", n.friendly_name) == n.friendly_name]
        size = int(query.get("PageSize", "50"))
        uri = f"/2010-04-01/Accounts/{self.account_sid}/IncomingPhoneNumbers.json"
        return web.json_response({"incoming_phone_numbers": [n.to_json() for n in found[:size]],
                                  "end": max(0, min(len(found), size) - 1), "first_page_uri": uri,
                                  "next_page_uri": None, "page": 0, "page_size": size,
                                  "previous_page_uri": None, "start": 0, "uri": uri})

    def _find(self, request: web.Request) -> IncomingNumber | web.Response:
        number = self.numbers.get(request.match_info["sid"])
        if number is None:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        return number

    async def fetch(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        number = self._find(request)
        return number if isinstance(number, web.Response) else web.json_response(number.to_json())

    async def update(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        number = self._find(request)
        if isinstance(number, web.Response):
            return number
        posted = await request.post()
        self.requests.append(("POST", request.path, posted.copy()))
        form = {name: value for name, value in posted.items() if isinstance(value, str)}  # Twilio posts text
        for name in URL_FIELDS:
            if form.get(name) and not URL.match(form[name]):
                return twilio_error(400, 21402, f"{name} is not valid.")
        for name, key in (*URL_FIELDS.items(), *METHOD_FIELDS.items()):
            if name in form:
                number.config[key] = form[name].upper() if key.endswith("_method") else form[name]
        if "FriendlyName" in form:
            number.friendly_name = form["FriendlyName"]
        number.date_updated = datetime.now(UTC)
        return web.json_response(number.to_json())
