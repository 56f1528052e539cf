"""How a call ends: goodbye then hang-up, transfer to a human, operator commands, and the
apology fallback when Gemini cannot be recovered.

The rule throughout: the caller hears the last words before the line changes. We wait
until the model has stopped generating and every frame sent has played (marks), and only
then ask Twilio (REST) to hang up or redirect the call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

from fixline_proto.commands import AnyCallControl, HangUp, Say, Transfer

from services.common.settings import Settings
from services.common.tasks import TaskSet

from .audio import OutboundAudio
from .callback_promise import CallbackPromise
from .call_control import TwilioRest, transfer_twiml, warm_transfer_twiml
from .events_out import EventSink
from .handoff import HandoffPlan, plan_handoff
from .fallback import prompt_frames
from .gemini_link import GeminiLink
from .metrics import BridgeMetrics
from .call_context import CallContext
from .playback import Playback
from .tools_dispatch import error_response
from .transcript import Transcript


class EndingDeps(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def twilio(self) -> TwilioRest: ...
    @property
    def sink(self) -> EventSink: ...


class EndingCall(Protocol):
    """The parts of a call an ending steers. ``Call`` has them; naming them here, rather than
    importing ``Call``, keeps call.py -> ending.py one-way."""

    @property
    def ctx(self) -> CallContext: ...
    @property
    def deps(self) -> EndingDeps: ...
    @property
    def link(self) -> GeminiLink: ...
    @property
    def playback(self) -> Playback: ...
    @property
    def transcript(self) -> Transcript: ...
    @property
    def metrics(self) -> BridgeMetrics: ...
    @property
    def outbound(self) -> OutboundAudio: ...
    @property
    def promise(self) -> CallbackPromise: ...
    @property
    def model_speaking(self) -> bool: ...
    async def close_stream(self) -> None: ...

log = logging.getLogger(__name__)
QUIET_SETTLE_S = 0.6      # no model audio for this long = the goodbye is complete
QUIET_TIMEOUT_S = 15.0
CLOSE_GRACE_S = 3.0       # Twilio stops the stream itself after a hang-up; close it if not


WRAP_UP = ("[System: this call has reached its time limit. In one or two sentences, tell the caller we must "
           "end here, offer that we will call them back to continue, say goodbye, then call end_call.]")


class Ending:
    def __init__(self, call: EndingCall) -> None:
        self.call = call
        self.reason: str | None = None
        self.hung_up_at: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._tasks = TaskSet("ending")

    @property
    def active(self) -> bool:
        return self.reason is not None

    # ------------------------------------------------------------------ model tools

    async def end_call_tool(self, args: dict[str, Any]) -> dict[str, Any]:
        if not self.active:
            self._start("agent_hangup", self._after_goodbye(self._hang_up))
            self.call.transcript.system(f"Agent ended the call ({str(args.get('reason', ''))[:100]}).")
        return {"output": {"ok": True, "note": "The call ends once your goodbye has played. Say nothing more."}}

    async def transfer_tool(self, args: dict[str, Any]) -> dict[str, Any]:
        """A warm hand-off to the property's manager line (else ``FALLBACK_TRANSFER_NUMBER``)."""
        ctx, settings = self.call.ctx, self.call.deps.settings
        number = ctx.handoff_number or settings.fallback_transfer_number
        if not number:
            return error_response("unavailable", "No one is available to take a transfer right now. "
                                  "Offer that the team will call them back instead.")
        if not self.active:
            reason = str(args.get("reason", ""))
            plan = plan_handoff(ctx, number, reason, settings.public_base_url)
            self._start("transferred", self._after_goodbye(lambda: self._hand_off(plan)))
            self.call.transcript.system(f"Warm hand-off to a person requested ({reason[:100]}).")
        return {"output": {"ok": True, "note": "The transfer starts once your message has played. If nobody "
                                               "answers, the caller comes back to you."}}

    # ------------------------------------------------------------------ operator commands

    async def on_command(self, command: AnyCallControl) -> None:
        if isinstance(command, Say):
            await self.call.link.send_text(f"[Operator message; say this to the caller now: {command.text[:500]}]")
        elif isinstance(command, HangUp):
            wait = self._after_goodbye if command.after_playback else self._now
            self._start("operator_hangup", wait(self._hang_up))
        elif isinstance(command, Transfer):
            number = command.to_number
            self._start("transferred", self._after_goodbye(lambda: self._redirect(number)))

    # ------------------------------------------------------------------ time limit

    async def time_limit(self, max_s: float, wrap_up_s: float) -> None:
        """Every call ends within ``max_s`` (below the drain deadline, so a draining bridge never
        cuts a call): ``wrap_up_s`` before, the agent is asked to close and offer a call-back."""
        await asyncio.sleep(max(0.0, max_s - wrap_up_s))
        if self.active:
            return
        self.call.transcript.system("Call time limit reached; the agent was asked to wrap up.")
        self.call.promise.make("time_limit")  # the wrap-up offers a call-back: the system keeps it
        await self.call.link.send_text(WRAP_UP)
        await asyncio.sleep(min(wrap_up_s, max_s))
        self._start("time_limit", self._now(self._hang_up))

    # ------------------------------------------------------------------ fallback

    async def fallback(self, reason: str) -> None:
        """Gemini is gone for good: a real spoken apology, then a human or a callback promise."""
        call = self.call
        if self.active:  # already ending (goodbye, transfer): let that finish
            return
        number = call.deps.settings.fallback_transfer_number
        action = "transfer" if number else "callback"
        self.reason = f"agent_unavailable_{action}"
        call.metrics.fallbacks.labels(action).inc()
        log.error("Gemini unavailable for this call; playing the apology", extra={"reason": reason[:200],
                                                                                  "action": action})
        call.transcript.system(f"The agent became unavailable ({reason[:80]}); caller offered a {action}.")
        if action == "callback":
            call.promise.make("agent_unavailable")  # the recorded apology says "we will call you back"
        if call.model_speaking:
            await call.playback.interrupt()
        call.outbound.reset()
        frames = list(prompt_frames(action))
        call.playback.enqueue(frames)
        call.playback.end_of_turn()
        await call.playback.drained(len(frames) * 0.02 + 3.0)
        await (self._redirect(number) if number else self._hang_up())

    # ------------------------------------------------------------------ mechanics

    def _start(self, reason: str, coro: Any) -> None:
        if self.active or self._tasks.closed:  # already ending, or the call is gone
            coro.close()
            return
        self.reason = reason
        self._task = self._tasks.spawn(coro, name=f"ending-{reason}")

    async def _after_goodbye(self, action: Any) -> None:
        await self._wait_quiet()
        await action()

    async def _now(self, action: Any) -> None:
        await self.call.playback.interrupt()
        await action()

    async def _wait_quiet(self) -> None:
        """Until the model has stopped and every frame sent has played."""
        call, quiet_since = self.call, None
        deadline = time.monotonic() + QUIET_TIMEOUT_S
        while time.monotonic() < deadline:
            if call.model_speaking or call.playback.speaking:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= QUIET_SETTLE_S:
                break
            await asyncio.sleep(0.05)
        await call.playback.drained(3.0)

    async def _hang_up(self) -> None:
        self.hung_up_at = time.monotonic()
        ok = await self.call.deps.twilio.hang_up(self.call.ctx.call_sid)
        await self._close_later(ok)

    async def _redirect(self, number: str) -> None:
        self.hung_up_at = time.monotonic()
        ok = await self.call.deps.twilio.redirect(self.call.ctx.call_sid, transfer_twiml(number))
        await self._close_later(ok)

    async def _hand_off(self, plan: HandoffPlan) -> None:
        self.hung_up_at = time.monotonic()
        twiml = warm_transfer_twiml(plan.number, plan.whisper_url, plan.action_url)
        ok = await self.call.deps.twilio.redirect(self.call.ctx.call_sid, twiml)
        if ok:
            self.call.deps.sink.emit(*plan.requested(self.call.ctx))
        await self._close_later(ok)

    async def _close_later(self, rest_ok: bool) -> None:
        """Twilio ends the stream after a hang-up or redirect; if it does not (or REST failed),
        closing the socket makes Twilio run the TwiML after </Connect> (none: the call ends)."""
        if rest_ok:
            await asyncio.sleep(CLOSE_GRACE_S)
        await self.call.close_stream()

    async def cancel(self) -> None:
        await self._tasks.close()
