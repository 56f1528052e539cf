"""Twilio REST API (2010-04-01) Calls resource: create, fetch, update, list."""
from __future__ import annotations

import asyncio
import base64
import re
from typing import TYPE_CHECKING

from aiohttp import web

from .call import TERMINAL, Call
from .errors import twilio_error
from .twiml import TwimlSource
from .webhooks import new_sid

if TYPE_CHECKING:
    from .server import TwilioEmulator

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
ACTIVE = {"queued", "initiated", "ringing", "in-progress"}




class RestApi:
    def __init__(self, emu: "TwilioEmulator"):
        self.emu = emu

    def routes(self) -> list[web.RouteDef]:
        base = "/2010-04-01/Accounts/{account}/Calls"
        return [web.post(base + ".json", self.create), web.get(base + ".json", self.list),
                web.get(base + "/{sid}.json", self.fetch), web.post(base + "/{sid}.json", self.update)]

    def _auth(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        try:
            user, _, secret = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
        except ValueError:
            user, secret = "", ""
        if not header.startswith("Basic ") or (user, secret) != (self.emu.account_sid, self.emu.auth_token):
            return twilio_error(401, 20003, "Authentication Error - invalid username",
                                detail="Your AccountSid or AuthToken was incorrect.")
        if request.match_info["account"] != self.emu.account_sid:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        if self.emu.failures:
            status, code, message = self.emu.failures.pop(0)
            return twilio_error(status, code, message)
        return None

    def _find(self, request: web.Request) -> Call | web.Response:
        call = self.emu.calls.get(request.match_info["sid"])
        if call is None or call.account_sid != request.match_info["account"]:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        return call

    async def create(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        form = await request.post()
        self.emu.rest_requests.append(("POST", request.path, form.copy()))
        error = self._validate_create(form)
        if error is not None:
            return error
        call = self._new_call(form)
        if self.emu.create_delay_s:
            await asyncio.sleep(self.emu.create_delay_s)
        return web.json_response(call.to_json(), status=201)

    def _validate_create(self, form) -> web.Response | None:
        to, from_, url = form.get("To", ""), form.get("From", ""), form.get("Url")
        if not to:
            return twilio_error(400, 21201, "No 'To' number is specified")
        if not from_:
            return twilio_error(400, 21213, "No 'From' number is specified")
        if not E164.match(to) and not to.startswith("client:"):
            return twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if self.emu.numbers and from_ not in self.emu.numbers:
            return twilio_error(400, 21210, f"The source phone number provided, {from_}, is not yet "
                                "verified for your account. You may only make calls from phone "
                                "numbers that you've verified or purchased from Twilio.")
        if not url and not form.get("Twiml") and not form.get("ApplicationSid"):
            return twilio_error(400, 21205, "Url parameter is required.")
        if url and not re.match(r"^https?://", url):
            return twilio_error(400, 21205, f"Url is not a valid URL: {url}")
        if not url and len(form.get("Twiml", "")) > 4000:
            return twilio_error(400, 21205, "Twiml must be 4000 characters or fewer.")
        return None

    def _new_call(self, form) -> Call:
        url = form.get("Url")
        source = TwimlSource(url=url, method=form.get("Method", "POST").upper(),
                             twiml=None if url else form.get("Twiml"))
        events = tuple(form.getall("StatusCallbackEvent", [])) or ("completed",)
        call = Call(emu=self.emu, sid=new_sid("CA"), account_sid=self.emu.account_sid,
                    from_=form["From"], to=form["To"], direction="outbound-api", source=source,
                    callee=self.emu.callee_for(form["To"]),
                    status_callback=form.get("StatusCallback"),
                    status_callback_method=form.get("StatusCallbackMethod", "POST").upper(),
                    status_events=events, machine_detection=form.get("MachineDetection"),
                    async_amd=form.get("AsyncAmd", "false").lower() == "true",
                    async_amd_callback=form.get("AsyncAmdStatusCallback"))
        self.emu._start_call(call)
        return call

    async def fetch(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        call = self._find(request)
        return call if isinstance(call, web.Response) else web.json_response(call.to_json())

    async def list(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        calls = [c.to_json() for c in self.emu.calls.values()]
        status = request.query.get("Status")
        calls = [c for c in calls if status is None or c["status"] == status]
        uri = f"/2010-04-01/Accounts/{self.emu.account_sid}/Calls.json"
        return web.json_response({"calls": calls, "end": max(0, len(calls) - 1), "first_page_uri": uri,
                                  "next_page_uri": None, "page": 0, "page_size": 50,
                                  "previous_page_uri": None, "start": 0, "uri": uri})

    async def update(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        call = self._find(request)
        if isinstance(call, web.Response):
            return call
        form = await request.post()
        self.emu.rest_requests.append(("POST", request.path, form.copy()))
        error = self._apply_update(call, form)
        return error or web.json_response(call.to_json())

    def _apply_update(self, call: Call, form) -> web.Response | None:
        status, url, twiml = form.get("Status"), form.get("Url"), form.get("Twiml")
        if status == "completed" and call.status in ACTIVE:
            call.hang_up()
        elif status == "canceled":
            call.cancel()
        elif status:
            return twilio_error(400, 21218, f"Invalid value for Status: {status}")
        if url or twiml:
            if call.status != "in-progress" or call.status in TERMINAL:
                return twilio_error(400, 21220, "Call is not in-progress. Cannot redirect.")
            call.redirect(TwimlSource(url=url, method=form.get("Method", "POST").upper(),
                                      twiml=None if url else twiml))
        return None
