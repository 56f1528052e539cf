"""Drives the outreach service the way the rest of the system would: incidents through the
real tools service over NATS, the vendor/landlord agents' tool calls (record_quote,
record_decision) through the same tools, hang-ups as ingress publishes them (CallEnded)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import msgspec
import nats
from nats.js.api import DeliverPolicy

from fixline_proto import encode, subjects
from fixline_proto.codec import EVENT_DECODER, TOOL_RESULT_DECODER
from fixline_proto.commands import DialCall
from fixline_proto.events import CallEnded, IncidentUpdated, OutreachProgress
from fixline_proto.tools import IncidentRef, ToolResult
from services.common.work_hours import WorkHours, next_slot
from tests.tools.call_rows import insert_call


def unique_phone() -> str:
    return "+1555" + str(uuid.uuid4().int)[:7]


async def eventually(check: Callable[[], object], timeout: float = 15.0, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class World:
    """Records every DialCall and OutreachProgress in the streams (from the start of the
    streams: counts are what JetStream holds, not what this test happened to see)."""

    def __init__(self, nc: nats.aio.client.Client, pool) -> None:
        self.nc, self.pool = nc, pool
        self.js = nc.jetstream()
        self.dials: list[DialCall] = []
        self.progress: list[OutreachProgress] = []
        self._subs: list = []

    async def start(self) -> "World":
        self._subs.append(await self.js.subscribe(subjects.CALLS_DIAL, ordered_consumer=True,
                                                  deliver_policy=DeliverPolicy.ALL, cb=self._on_dial))
        self._subs.append(await self.js.subscribe(subjects.event("*", "outreach.progress"), ordered_consumer=True,
                                                  deliver_policy=DeliverPolicy.ALL, cb=self._on_progress))
        return self

    async def stop(self) -> None:
        for sub in self._subs:
            await sub.unsubscribe()

    async def _on_dial(self, msg) -> None:
        """The call row ingress would write for this dial (the agents' tools act for it)."""
        dial = msgspec.json.decode(msg.data, type=DialCall)
        await insert_call(self.pool, call_id=dial.call_id, call_type=dial.call_type, property_id=dial.property_id,
                          incident_id=dial.incident_id, vendor_id=dial.vendor_id, phone=dial.to_number)
        self.dials.append(dial)

    async def _on_progress(self, msg) -> None:
        event = EVENT_DECODER.decode(msg.data)
        if isinstance(event, OutreachProgress):
            self.progress.append(event)

    # --- the tools, as the agents call them -------------------------------------------

    async def tool(self, name: str, **args: object) -> ToolResult:
        reply = await self.nc.request(subjects.tool(name), msgspec.json.encode(args), timeout=10)
        return TOOL_RESULT_DECODER.decode(reply.data)

    async def open_incident(self, property_id: str = "p1", category: str = "plumbing") -> tuple[str, str]:
        """A guest reports a leak that needs a professional, as the guest agent states it; the
        system (not the test) moves the incident to awaiting_quotes."""
        guest = unique_phone()
        call_id = await insert_call(self.pool, property_id=property_id, phone=guest)  # the guest's inbound call
        ref = await self.tool("create_incident", property_id=property_id, category=category, severity="high",
                              description=f"Kitchen sink pipe leaking under the cabinet {uuid.uuid4().hex[:6]}",
                              call_id=call_id, needs_professional=True, urgency="today")
        assert isinstance(ref, IncidentRef) and ref.status == "awaiting_quotes", ref
        return ref.incident_id, guest

    async def vendor_quotes(self, dial: DialCall, price: float, in_hours: float) -> None:
        """The vendor's earliest start: the first working-hours slot ``in_hours`` from now."""
        after = datetime.now(UTC) + timedelta(hours=in_hours)
        start = next_slot(WorkHours(), after, "America/Los_Angeles", timedelta(hours=2))
        result = await self.tool("record_quote", incident_id=dial.incident_id, vendor_id=dial.vendor_id, price=price,
                                 earliest_start=start.isoformat(), call_id=dial.call_id)
        assert type(result).__name__ == "QuoteRecorded", result

    async def landlord_decides(self, dial: DialCall, approved: bool, vendor_id: str | None = None) -> None:
        result = await self.tool("record_decision", incident_id=dial.incident_id, approved=approved,
                                 vendor_id=vendor_id, notes="go ahead" if approved else "too expensive",
                                 call_id=dial.call_id)
        assert type(result).__name__ == "DecisionRecorded", result

    async def hang_up(self, dial: DialCall, reason: str = "completed") -> None:
        """What ingress publishes when the phone call ends."""
        event = CallEnded(property_id=dial.property_id, call_id=dial.call_id, reason=reason, duration_s=42.0,
                          incident_id=dial.incident_id)
        await self.js.publish(subjects.event(dial.property_id, "call.ended"), encode(event),
                              headers={"Nats-Msg-Id": event.id})

    async def retrigger(self, property_id: str, incident_id: str) -> None:
        """Another awaiting_quotes event for the same incident (a replayed or repeated update)."""
        event = IncidentUpdated(property_id=property_id, incident_id=incident_id, status="awaiting_quotes",
                                previous_status="troubleshooting", note="repeated")
        await self.js.publish(subjects.event(property_id, "incident.updated"), encode(event),
                              headers={"Nats-Msg-Id": event.id})

    # --- what the tests look at --------------------------------------------------------

    def dials_of(self, incident_id: str, call_type: str | None = None) -> list[DialCall]:
        return [d for d in self.dials if d.incident_id == incident_id and call_type in (None, d.call_type)]

    async def wait_dials(self, incident_id: str, call_type: str, count: int, timeout: float = 15.0) -> list[DialCall]:
        await eventually(lambda: len(self.dials_of(incident_id, call_type)) >= count, timeout,
                         f"{count} {call_type} dial(s)")
        return self.dials_of(incident_id, call_type)

    def stages(self, incident_id: str) -> list[str]:
        return [p.stage for p in self.progress if p.incident_id == incident_id]

    async def wait_stage(self, incident_id: str, stage: str, timeout: float = 15.0) -> OutreachProgress:
        await eventually(lambda: stage in self.stages(incident_id), timeout, f"stage {stage}")
        return next(p for p in self.progress if p.incident_id == incident_id and p.stage == stage)
