"""Call control: Twilio REST (hang up, redirect to a human) and the per-call NATS subject.

Hang-ups and transfers go through the official twilio SDK (async), pointed at
``TWILIO_API_BASE_URL``. ``call.<call_id>.control`` requests (HangUp / Transfer / Say) are
answered with a ``CommandAck`` by the bridge process that holds the call.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import msgspec
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from fixline_proto import codec, subjects
from fixline_proto.commands import AnyCallControl, CommandAck

from services.common.settings import Settings

log = logging.getLogger(__name__)
_sdk_log = logging.getLogger(f"{__name__}.twilio_sdk")  # the SDK logs phone numbers at INFO
_sdk_log.setLevel(logging.WARNING)
ALREADY_OVER = {20404, 21220}  # call not found / not in progress: the call is already over
VOICE = "Polly.Joanna"


def transfer_twiml(number: str, message: str = "") -> str:
    response = VoiceResponse()
    if message:
        response.say(message, voice=VOICE)
    response.dial(timeout=30).number(number)
    return str(response)


def warm_transfer_twiml(number: str, whisper_url: str, action_url: str, timeout_s: int = 25) -> str:
    """Dial ``number``; the callee hears the TwiML at ``whisper_url`` before the caller is bridged,
    and Twilio posts the ``DialCallStatus`` to ``action_url`` when the dial is over."""
    response = VoiceResponse()
    response.dial(action=action_url, method="POST", timeout=timeout_s).number(number, url=whisper_url,
                                                                              method="POST")
    return str(response)


def callback_twiml(message: str) -> str:
    response = VoiceResponse()
    response.say(message, voice=VOICE)
    response.hangup()
    return str(response)


class TwilioRest:
    """Process-wide async Twilio client; build it inside the running loop (``start``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client: Client | None = None
        self._http: AsyncTwilioHttpClient | None = None

    def start(self) -> None:
        s = self.settings
        self._http = AsyncTwilioHttpClient(timeout=10.0, logger=_sdk_log)
        self.client = Client(s.twilio_account_sid or "AC-unset", s.twilio_auth_token or "unset",
                             http_client=self._http, environment={})
        if s.twilio_api_base_url:
            self.client.api.base_url = s.twilio_api_base_url.rstrip("/").removesuffix("/2010-04-01")

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def hang_up(self, call_sid: str) -> bool:
        return await self._update(call_sid, status="completed")

    async def redirect(self, call_sid: str, twiml: str) -> bool:
        return await self._update(call_sid, twiml=twiml)

    async def _update(self, call_sid: str, **fields: str) -> bool:
        if self.client is None or not call_sid:
            return False
        try:
            await self.client.calls(call_sid).update_async(**fields)
            return True
        except TwilioRestException as exc:
            if exc.code in ALREADY_OVER or exc.status == 404:
                log.info("call already over at Twilio", extra={"code": exc.code})
                return True
            log.error("Twilio call update failed", extra={"status": exc.status, "code": exc.code})
            return False
        except Exception as exc:  # noqa: BLE001 - network errors: reported, the call goes on
            log.error("Twilio call update failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            return False


Handler = Callable[[AnyCallControl], Awaitable[None]]


class ControlSubscription:
    """Serves ``call.<call_id>.control`` for one call."""

    def __init__(self, nc: NATS, call_id: str, handler: Handler) -> None:
        self.nc, self.call_id, self.handler = nc, call_id, handler
        self.sub: Subscription | None = None

    async def start(self) -> None:
        self.sub = await self.nc.subscribe(subjects.call_control(self.call_id), cb=self._on_msg)

    async def stop(self) -> None:
        if self.sub is not None:
            try:
                await self.sub.unsubscribe()
            except Exception:  # noqa: BLE001 - connection already closed
                pass

    async def _on_msg(self, msg: Msg) -> None:
        try:
            command = codec.CALL_CONTROL_DECODER.decode(msg.data)
        except msgspec.DecodeError as exc:
            await self._reply(msg, CommandAck(ok=False, error=f"invalid command: {exc}"))
            return
        if command.call_id != self.call_id:
            await self._reply(msg, CommandAck(ok=False, error="call_id does not match the subject"))
            return
        try:
            await self.handler(command)
            await self._reply(msg, CommandAck(ok=True))
        except Exception as exc:  # noqa: BLE001 - reported to the requester
            log.warning("call control failed", extra={"error": str(exc)})
            await self._reply(msg, CommandAck(ok=False, error=str(exc)))

    async def _reply(self, msg: Msg, ack: CommandAck) -> None:
        if msg.reply:
            try:
                await msg.respond(codec.encode(ack))
            except Exception:  # noqa: BLE001 - requester gone
                pass
