"""``TwilioEmulator``: REST API + carrier (webhooks, Media Streams, callbacks)."""
from __future__ import annotations

import asyncio
import contextlib
import ssl
import tempfile
from typing import Any

import aiohttp
from aiohttp import web

from .._server import AppServer
from .call import Call
from .twiml import TwimlSource
from .callee import CalleeScript
from .numbers import IncomingNumber, IncomingNumbersApi
from .recordings import RecordingsApi
from .rest import RestApi
from .webhooks import Signer, new_sid, send_webhook

DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
CalleeLike = CalleeScript | dict | list | None


class TwilioEmulator(AppServer):
    """Emulated ``api.twilio.com`` plus the carrier that dials your webhooks.

    ``stream_ssl`` is passed to aiohttp's ``ws_connect`` for ``wss://`` stream URLs
    (an ``SSLContext`` trusting your test server, or ``False`` to skip verification).
    """

    def __init__(self, *, account_sid: str = DEFAULT_ACCOUNT_SID, auth_token: str = "test-auth-token",
                 host: str = "127.0.0.1", port: int = 0, numbers: tuple[str, ...] = (),
                 stream_ssl: ssl.SSLContext | bool | None = None, ring_s: float = 0.05,
                 verb_time_scale: float = 1.0, dial_duration_s: float = 0.5,
                 webhook_timeout_s: float = 15.0, record_dir: str | None = None,
                 default_callee: CalleeLike = None):
        super().__init__(host, port)
        self.account_sid, self.auth_token = account_sid, auth_token
        self.numbers = tuple(numbers)
        self.stream_ssl = stream_ssl
        self.ring_s, self.verb_time_scale = ring_s, verb_time_scale
        self.dial_duration_s, self.webhook_timeout_s = dial_duration_s, webhook_timeout_s
        self.record_dir = record_dir or tempfile.mkdtemp(prefix="twilio-emu-")
        self.signer = Signer(auth_token)
        self.calls: dict[str, Call] = {}
        self.rest_requests: list[tuple[str, str, Any]] = []
        self.failures: list[tuple[int, int, str]] = []
        self.create_delay_s = 0.0  # a slow Twilio: calls.create answers this late (the call already rings)
        self.callback_log: list[dict] = []
        self.errors: list[BaseException] = []
        self._callees: dict[str, CalleeScript] = {}
        self.default_callee = CalleeScript.load(default_callee)
        self.http: aiohttp.ClientSession | None = None
        self._rest = RestApi(self)
        self._numbers = IncomingNumbersApi(self.account_sid, self._rest._auth, self.rest_requests)
        self.recordings = RecordingsApi(self, self._rest._auth)

    # ------------------------------------------------------------ lifecycle

    def _make_app(self) -> web.Application:
        app = web.Application()
        app.add_routes(self._rest.routes())
        app.add_routes(self._numbers.routes())
        app.add_routes(self.recordings.routes())
        app.router.add_post("/_emulator/calls", self._control_place_call)
        app.router.add_get("/_emulator/calls/{sid}", self._control_call_state)
        app.router.add_get("/_emulator/calls", self._control_list_calls)
        return app

    @property
    def http_session(self) -> aiohttp.ClientSession:
        """The client for webhooks and media streams; there while the emulator runs."""
        if self.http is None:
            raise RuntimeError("the Twilio emulator is not started")
        return self.http

    async def start(self) -> "TwilioEmulator":
        self.http = aiohttp.ClientSession()
        await super().start()
        return self

    async def stop(self) -> None:
        for call in self.calls.values():
            call.hang_up()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(c._done.wait() for c in self.calls.values())), 3.0)
        await super().stop()
        if self.http is not None:
            await self.http.close()

    # ------------------------------------------------------------ SDK helpers

    def client(self, http_client=None):
        """A ``twilio.rest.Client`` whose api domain points here (sync unless
        ``http_client`` is an ``AsyncTwilioHttpClient``)."""
        from twilio.rest import Client

        client = Client(self.account_sid, self.auth_token, http_client=http_client, environment={})
        client.api.base_url = self.base_url
        return client

    # ------------------------------------------------------------ numbers

    def add_incoming_number(self, phone_number: str, friendly_name: str = "") -> IncomingNumber:
        """A number this account owns (IncomingPhoneNumbers), not yet pointed anywhere."""
        return self._numbers.add(phone_number, friendly_name)

    def incoming_number(self, phone_number: str) -> IncomingNumber | None:
        return self._numbers.by_phone(phone_number)

    # ------------------------------------------------------------ calls

    def set_callee(self, to: str, script: CalleeLike) -> None:
        """Callee script for outbound calls to ``to`` (REST-created calls)."""
        self._callees[to] = CalleeScript.load(script)

    def callee_for(self, to: str) -> CalleeScript:
        return self._callees.get(to, self.default_callee)

    def fail_next(self, status: int = 429, code: int = 20429,
                  message: str = "Too Many Requests", times: int = 1) -> None:
        self.failures.extend([(status, code, message)] * times)

    async def place_inbound_call(self, *, to: str, from_: str, voice_url: str | None = None,
                                 callee_script: CalleeLike = None, method: str = "POST",
                                 status_callback: str | None = None,
                                 status_callback_events: tuple[str, ...] = ("completed",)) -> Call:
        """Ring ``voice_url`` as an inbound PSTN call; returns the running ``Call``
        (``await call.wait()`` for the end). Without ``voice_url``: what the number ``to`` is
        configured with (IncomingPhoneNumbers: VoiceUrl/VoiceMethod, StatusCallback/Method)."""
        if voice_url is None:
            number = self._numbers.by_phone(to)
            if number is None or not number.config["voice_url"]:
                raise ValueError(f"{to} is not a number of this account with a VoiceUrl")
            voice_url, method = number.config["voice_url"], number.config["voice_method"]
            status_callback = status_callback or number.config["status_callback"] or None
        call = Call(emu=self, sid=new_sid("CA"), account_sid=self.account_sid, from_=from_, to=to,
                    direction="inbound", source=TwimlSource(url=voice_url, method=method.upper()),
                    callee=CalleeScript.load(callee_script) if callee_script is not None
                    else self.default_callee,
                    status_callback=status_callback, status_events=tuple(status_callback_events))
        self._start_call(call)
        return call

    def _start_call(self, call: Call) -> None:
        self.calls[call.sid] = call
        self.spawn(self._guard(call))

    async def _guard(self, call: Call) -> None:
        try:
            await call.run()
        except Exception as exc:  # noqa: BLE001 - surfaced through .errors
            self.errors.append(exc)

    async def _control_place_call(self, request: web.Request) -> web.Response:
        """``POST /_emulator/calls`` JSON {to, from, voice_url, callee_script} (offline demo)."""
        body = await request.json()
        call = await self.place_inbound_call(to=body["to"], from_=body["from"], voice_url=body["voice_url"],
                                             callee_script=body.get("callee_script"))
        return web.json_response({"sid": call.sid}, status=201)

    async def _control_call_state(self, request: web.Request) -> web.Response:
        """``GET /_emulator/calls/{sid}``: status, what the callee said, recording (offline demo)."""
        call = self.calls.get(request.match_info["sid"])
        if call is None:
            return web.json_response({"error": "no such call"}, status=404)
        said = [f"caller: {e.detail.get('text', '')}" for e in call.events("callee_say")]
        wav = call.save_wav() if call.status == "completed" and call.stream else ""
        return web.json_response({"sid": call.sid, "status": call.status, "transcript": said,
                                  "recording": wav, "marks_echoed": len(call.marks_echoed),
                                  "clears": len(call.clears)})

    async def _control_list_calls(self, request: web.Request) -> web.Response:
        """``GET /_emulator/calls``: every call with its timeline (offline debugging)."""
        return web.json_response([
            {"sid": c.sid, "to": c.to, "status": c.status,
             "timeline": [{"t": e.t, "kind": e.kind, **{k: str(v)[:200] for k, v in e.detail.items()}}
                          for e in c.timeline if e.kind not in ("mark_received", "mark_echoed")]}
            for c in self.calls.values()])

    # ------------------------------------------------------------ callbacks

    def post_callback(self, call: Call, url: str, params: dict[str, str], method: str, kind: str) -> None:
        """Fire a signed callback in the background (Twilio does not order them)."""
        entry = {"kind": kind, "url": url, "params": params, "status": None}
        call.callbacks.append(entry)
        self.callback_log.append(entry)
        self.spawn(self._post(entry, method))

    async def _post(self, entry: dict, method: str) -> None:
        try:
            result = await send_webhook(self.http_session, self.signer, entry["url"], entry["params"], method, 10.0)
            entry["status"] = result.status
        except Exception as err:  # noqa: BLE001 - the app being down is the app's problem
            entry["status"] = repr(err)
