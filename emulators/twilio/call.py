"""A call on the emulated carrier: lifecycle, status callbacks, TwiML execution, records."""
from __future__ import annotations

import asyncio
import datetime as dt
import math
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import audio
from .callee import CalleeRuntime, CalleeScript
from .stream import MediaStream
from .twiml import TwimlError, TwimlSource, Verb, parse_twiml
from .verbs import run_verb
from .webhooks import rfc2822, send_webhook

if TYPE_CHECKING:
    from .server import TwilioEmulator

TERMINAL = {"completed", "busy", "failed", "no-answer", "canceled"}


def _fmt(number: str) -> str:
    digits = number[2:] if number.startswith("+1") and len(number) == 12 else None
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}" if digits else number


@dataclass
class TimelineEvent:
    t: float
    kind: str
    detail: dict[str, Any]


@dataclass
class Call:
    emu: "TwilioEmulator"
    sid: str
    account_sid: str
    from_: str
    to: str
    direction: str  # inbound | outbound-api
    source: TwimlSource
    callee: CalleeScript
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_events: tuple[str, ...] = ("completed",)
    machine_detection: str | None = None
    async_amd: bool = False
    async_amd_callback: str | None = None
    status: str = "queued"
    answered_by: str | None = None
    timeline: list[TimelineEvent] = field(default_factory=list)
    streams: list[MediaStream] = field(default_factory=list)
    callbacks: list[dict] = field(default_factory=list)  # every signed request we sent
    errors: list[dict] = field(default_factory=list)
    date_created: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None

    def __post_init__(self) -> None:
        self._t0 = time.monotonic()
        self._done = asyncio.Event()
        self._interrupt = asyncio.Event()
        self._redirect: TwimlSource | None = None
        self._hangup = False
        self._seq = 0
        self.date_updated = self.date_created
        self.runtime = CalleeRuntime(self.callee)

    # ------------------------------------------------------------ records for tests

    def now(self) -> float:
        return round(time.monotonic() - self._t0, 4)

    def log(self, kind: str, **detail: Any) -> None:
        self.timeline.append(TimelineEvent(self.now(), kind, detail))

    def events(self, kind: str) -> list[TimelineEvent]:
        return [e for e in self.timeline if e.kind == kind]

    @property
    def stream(self) -> MediaStream | None:
        return self.streams[-1] if self.streams else None

    @property
    def marks_echoed(self) -> list[str]:
        return [m for s in self.streams for m in s.marks_echoed]

    @property
    def clears(self) -> list[dict]:
        return [c for s in self.streams for c in s.clears]

    @property
    def played_ulaw(self) -> bytes:
        """What the caller heard (mu-law 8 kHz, one 20 ms frame per tick incl. silence)."""
        return b"".join(bytes(s.played) for s in self.streams)

    @property
    def received_pcm(self) -> np.ndarray:
        return audio.ulaw_to_pcm16(self.played_ulaw)

    @property
    def received_audio(self) -> bytes:
        """Every media byte the server sent (including audio later cleared)."""
        return b"".join(bytes(s.received_audio) for s in self.streams)

    def save_wav(self, path: str | None = None) -> str:
        path = path or os.path.join(self.emu.record_dir, f"{self.sid}.wav")
        return audio.write_wav(path, self.received_pcm, 8000)

    @property
    def wav_path(self) -> str:
        return self.save_wav()

    @property
    def duration_s(self) -> int | None:
        if not (self.start_time and self.end_time):
            return None
        return int(round((self.end_time - self.start_time).total_seconds()))

    async def wait(self, timeout: float | None = 30.0) -> "Call":
        """Await the end of the call (any terminal status)."""
        await asyncio.wait_for(self._done.wait(), timeout)
        return self

    def __await__(self):
        return self.wait().__await__()

    # ------------------------------------------------------------ control (REST update)

    def hang_up(self) -> None:
        self._hangup = True
        self._interrupt.set()

    def redirect(self, source: TwimlSource) -> None:
        self._redirect = source
        self._interrupt.set()

    def cancel(self) -> None:
        if self.status in ("queued", "ringing", "initiated"):
            self._hangup = True
            self._cancelled = True
            self._interrupt.set()

    # ------------------------------------------------------------ status

    def _params(self) -> dict[str, str]:
        p = {"CallSid": self.sid, "AccountSid": self.account_sid, "From": self.from_, "To": self.to,
             "Caller": self.from_, "Called": self.to, "CallStatus": self.status,
             "ApiVersion": "2010-04-01", "Direction": self.direction,
             "FromCountry": "US", "ToCountry": "US"}
        if self.answered_by and not self.async_amd:
            p["AnsweredBy"] = self.answered_by
        return p

    def set_status(self, status: str, event: str | None = None) -> None:
        self.status = status
        self.date_updated = dt.datetime.now(dt.timezone.utc)
        self.log("status", status=status)
        event = event or status
        if self.status_callback and event in self.status_events:
            params = {**self._params(), "SequenceNumber": str(self._seq), "Timestamp": rfc2822(),
                      "CallbackSource": "call-progress-events"}
            self._seq += 1
            if status in TERMINAL:
                params["CallDuration"] = str(self.duration_s or 0)
                params["Duration"] = str(math.ceil((self.duration_s or 0) / 60))
            self.emu.post_callback(self, self.status_callback, params, self.status_callback_method,
                                   kind="status")

    # ------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        try:
            if await self._ring():
                await self._connect_and_execute()
            final = "canceled" if getattr(self, "_cancelled", False) else self._final_status
            self._finish(final)
        except Exception as exc:  # noqa: BLE001 - an emulator bug must not hang tests
            self.errors.append({"code": None, "message": repr(exc)})
            self._finish("failed")
            raise

    _final_status = "completed"

    def _finish(self, status: str) -> None:
        if self.status in TERMINAL:
            return
        self.end_time = dt.datetime.now(dt.timezone.utc)
        self.set_status(status, "completed")
        self.emu.recordings.call_ended(self)
        self._done.set()

    async def _ring(self) -> bool:
        if self.direction != "inbound":
            self.set_status("initiated")
        self.set_status("ringing")
        try:
            ring_s = self.callee.ring_s if self.callee.ring_s is not None and self.direction != "inbound" \
                else self.emu.ring_s
            await asyncio.wait_for(self._interrupt.wait(), ring_s)
        except asyncio.TimeoutError:
            pass
        return not self._hangup

    async def _answer(self) -> None:
        self.start_time = dt.datetime.now(dt.timezone.utc)
        if self.machine_detection:
            self.answered_by = self.callee.answered_by
            self.log("amd", answered_by=self.answered_by)
            if self.async_amd and self.async_amd_callback:
                self.emu.post_callback(self, self.async_amd_callback, {
                    "CallSid": self.sid, "AccountSid": self.account_sid,
                    "AnsweredBy": self.answered_by, "MachineDetectionDuration": "1200"}, "POST",
                    kind="amd")
        self.set_status("in-progress", "answered")

    async def _connect_and_execute(self) -> None:
        """Inbound: the voice webhook is requested while ringing (CallStatus=ringing) and
        the TwiML answers the call; outbound: the call is answered (and AMD run) first."""
        first = None
        if self.direction == "inbound":
            first = await self._fetch(self.source)
            if first is None:
                return
        if not (first and first[0].name == "Reject"):  # <Reject> leaves the call unanswered
            await self._answer()
        verbs = first if first is not None else await self._fetch(self.source)
        while verbs is not None and not self._hangup:
            source = await self._execute(verbs)
            if source is None:
                return
            verbs = await self._fetch(source)

    async def _fetch(self, source: TwimlSource) -> list[Verb] | None:
        document = source.twiml
        if document is None and source.url:
            try:
                result = await send_webhook(self.emu.http_session, self.emu.signer, source.url,
                                            self._params(), source.method, self.emu.webhook_timeout_s)
            except Exception as err:  # noqa: BLE001 - any transport failure is error 11200
                self._app_error(11200, f"HTTP retrieval failure: {err!r}")
                return None
            self.log("webhook", url=source.url, status=result.status)
            if result.status >= 400:
                self._app_error(11200, f"HTTP retrieval failure: status {result.status}")
                return None
            document = result.body
        self.log("twiml", twiml=document)
        try:
            return parse_twiml(document or "")
        except TwimlError as err:
            self._app_error(err.code, str(err))
            return None

    def _app_error(self, code: int, message: str) -> None:
        """Twilio says "An application error has occurred" and hangs up."""
        self.errors.append({"code": code, "message": message})
        self.log("error", code=code, message=message)

    async def _execute(self, verbs: list[Verb]) -> TwimlSource | None:
        for verb in verbs:
            if self._hangup:
                return None
            outcome = await run_verb(self, verb)
            if self._redirect is not None:
                source, self._redirect = self._redirect, None
                self._interrupt.clear()
                self.log("redirect", url=source.url, twiml=source.twiml)
                return source
            if outcome == "end":
                return None
            if isinstance(outcome, TwimlSource):
                return outcome
        return None

    async def interruptible_sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._interrupt.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def run_stream(self, verb: Verb) -> str:
        assert verb.stream is not None
        stream = MediaStream(self, verb.stream, self.runtime)
        self.streams.append(stream)
        return await stream.run(self._interrupt)

    def to_json(self) -> dict[str, Any]:
        """The REST API's Call resource."""
        base = f"/2010-04-01/Accounts/{self.account_sid}/Calls/{self.sid}"
        subs = ["notifications", "recordings", "payments", "events", "siprec", "streams",
                "transcriptions", "user_defined_message_subscriptions", "user_defined_messages"]
        return {
            "account_sid": self.account_sid, "annotation": None, "answered_by": self.answered_by,
            "api_version": "2010-04-01", "caller_name": None,
            "date_created": rfc2822(self.date_created), "date_updated": rfc2822(self.date_updated),
            "direction": self.direction, "duration": None if self.duration_s is None else str(self.duration_s),
            "end_time": rfc2822(self.end_time) if self.end_time else None, "forwarded_from": None,
            "from": self.from_, "from_formatted": _fmt(self.from_), "group_sid": None,
            "parent_call_sid": None, "phone_number_sid": "PN" + self.account_sid[2:],
            "price": None, "price_unit": "USD", "queue_time": "0", "sid": self.sid,
            "start_time": rfc2822(self.start_time) if self.start_time else None, "status": self.status,
            "subresource_uris": {s: f"{base}/{s[0].upper()}{s[1:]}.json" for s in subs},
            "to": self.to, "to_formatted": _fmt(self.to), "trunk_sid": None, "uri": f"{base}.json",
        }
