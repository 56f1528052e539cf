""""We will call you back", said by the system, recorded as a fact.

The bridge promises a call-back when the call is cut short by something the system decided:
Gemini is gone for good and nobody takes a transfer (the recorded apology), the call reached
its time limit (the wrap-up), or a tool the agent needs could not be reached. The promise is
a ``CallbackPromised`` event; outreach's ``callback:<call id>`` workflow keeps it. What a
model says in its own words is not a promise: only its ``schedule_callback`` tool call is
(reason ``agent_request``; declared to guest calls only).
One promise per call: the first reason wins (the event's ``Nats-Msg-Id`` is per call, too).
"""

from __future__ import annotations

import logging
from typing import Any

from fixline_proto.events import CallbackPromised

from .events_out import EventSink
from .call_context import CallContextOwner
from .tool_schema import CALLBACK_CALL_TYPES
from .tools_dispatch import error_response

log = logging.getLogger(__name__)


class CallbackPromise:
    def __init__(self, call: CallContextOwner, sink: EventSink) -> None:
        self.call, self.sink = call, sink
        self.reason: str | None = None

    @property
    def possible(self) -> bool:
        """A call-back can be promised on this call (a guest, with a number to call)."""
        ctx = self.call.ctx
        return ctx.call_type in CALLBACK_CALL_TYPES and bool(ctx.caller_phone)

    def make(self, reason: str, note: str = "") -> bool:
        """Record the promise (once per call); False when no call-back can be made."""
        if not self.possible:
            return False
        if self.reason is not None:
            return True
        self.reason = reason
        ctx = self.call.ctx  # the incident the call opened, if any
        event = CallbackPromised(property_id=ctx.property_id, call_id=ctx.call_id, to_number=ctx.caller_phone,
                                 reason=reason, call_type="guest", incident_id=ctx.incident_id or None,
                                 note=note[:300])
        self.sink.emit(event, f"{ctx.call_id}:callback.promised")
        log.info("call-back promised", extra={"reason": reason})
        return True

    async def schedule_callback_tool(self, args: dict[str, Any]) -> dict[str, Any]:
        """The agent's ``schedule_callback``: the tool call is the promise."""
        if not self.make("agent_request", str(args.get("reason", ""))):
            return error_response("unavailable", "No call-back can be arranged on this call. "
                                  "Offer to transfer the caller to a person instead.")
        return {"output": {"ok": True, "note": "The team will phone the caller back in a few minutes. "
                                               "Tell them so."}}
