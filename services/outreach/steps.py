"""DBOS steps: every side effect of an outreach workflow. Steps are at-least-once (a crash
between the effect and its checkpoint runs it again), so each effect is idempotent:
JetStream dedupes on ``Nats-Msg-Id = <workflow id>:<step id>``, ingress dials a call id once,
the tools are idempotent (deterministic calendar ids, state-machine transitions)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import ParamSpec, TypeVar

from dbos import DBOS

from fixline_proto import encode, subjects
from fixline_proto.codec import TOOL_RESULT_DECODER
from fixline_proto.commands import DialCall
from fixline_proto.events import IncidentAlertRaised, OutreachProgress, OutreachStage
from fixline_proto.tools import (IncidentStatusChanged, RepairBooked, ScheduleRepair, ToolError, ToolRequest,
                                 IncidentStatusName, UpdateIncidentStatus)

from services.common.work_hours import QuietHours, WorkHours, next_slot, quiet_until, zone

from . import analysis, repo
from .context import current
from .jobs import Booking, BookingFailed, CallSpec, Decision, IncidentJob, Quote, QuietWait, Vendor, VendorChoice, \
    VendorQuote

log = logging.getLogger(__name__)
TOOL_TIMEOUT_S = 15.0
LEAD_TIME = timedelta(hours=1)  # the soonest a visit is booked from now
VISIT_MINUTES = 120
P = ParamSpec("P")
R = TypeVar("R")


def retried_step() -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """A step that rides out bus/database hiccups: retried for a few minutes before the workflow
    gives up (ERROR, resumable)."""
    return DBOS.step(retries_allowed=True, max_attempts=8, interval_seconds=0.5, backoff_rate=2.0)


class ToolUnavailable(Exception):
    """A retryable tool error: the step is retried."""


def _msg_id() -> str:
    return f"{DBOS.workflow_id}:{DBOS.step_id}"


@DBOS.step()
async def clock() -> float:
    """Wall-clock time, checkpointed: a replay sees the same value."""
    return time.time()


@retried_step()
async def load_job(incident_id: str) -> IncidentJob | None:
    ctx = current()
    async with ctx.pool.acquire() as conn:
        row = await repo.load_incident(conn, incident_id)
        if row is None:
            return None
        emergency = row["urgency"] == "emergency"
        vendors = await repo.pick_vendors(conn, row["category"], row["property_id"],
                                          max(1, ctx.settings.outreach_max_vendors), emergency)
    quiet_hours = quiet_hours_of(row.pop("quiet_start"), row.pop("quiet_end"), ctx.settings.outreach_quiet_hours)
    return IncidentJob(**row, emergency=emergency, vendors=tuple(vendors), quiet_hours=quiet_hours,
                       parallel=max(1, ctx.settings.outreach_vendors),
                       max_calls=max(1, ctx.settings.outreach_max_vendors))


def quiet_hours_of(quiet_start: str | None, quiet_end: str | None, default: str) -> tuple[str, str]:
    """The property's own quiet window, else ``OUTREACH_QUIET_HOURS``; as the (start, end) a
    workflow records."""
    quiet = QuietHours.of(quiet_start, quiet_end, QuietHours.parse(default))
    return quiet.start.isoformat(), quiet.end.isoformat()


@DBOS.step()
async def quiet_wait(quiet_hours: tuple[str, str], timezone: str) -> QuietWait | None:
    """Now (a checkpointed clock read) inside the property's quiet hours: how long until they
    end, and the local time they end at; None outside them."""
    now = datetime.now(UTC)
    until = quiet_until(QuietHours.of(quiet_hours[0], quiet_hours[1], QuietHours()), now, timezone)
    if until is None:
        return None
    return QuietWait(seconds=max(0.0, (until - now).total_seconds()),
                     local_end=until.astimezone(zone(timezone)).strftime("%H:%M"))


@retried_step()
async def raise_alert(job: IncidentJob, detail: str) -> None:
    """The manager's alert (stays on the dashboard until handled); once per incident and reason."""
    alert_id = f"alert:{job.incident_id}:emergency"
    event = IncidentAlertRaised(id=alert_id, property_id=job.property_id, incident_id=job.incident_id,
                                alert_id=alert_id, detail=detail[:500])
    await current().js.publish(subjects.event(job.property_id, "incident.alert.raised"), encode(event),
                               headers={"Nats-Msg-Id": alert_id})


@retried_step()
async def machine_answered(call_id: str) -> bool:
    async with current().pool.acquire() as conn:
        who = await repo.answered_by(conn, call_id)
    return who.startswith("machine") or who == "fax"


@retried_step()
async def progress(property_id: str, incident_id: str, stage: OutreachStage, detail: str = "",
                   vendor_id: str | None = None, call_id: str | None = None) -> None:
    msg_id = _msg_id()
    event = OutreachProgress(id=msg_id, property_id=property_id, incident_id=incident_id, stage=stage,
                             detail=detail[:500], vendor_id=vendor_id, call_id=call_id)
    await current().js.publish(subjects.event(property_id, "outreach.progress"), encode(event),
                               headers={"Nats-Msg-Id": msg_id})


@retried_step()
async def place_call(spec: CallSpec) -> None:
    """Remember where the call's results go, then ask ingress to dial (once per call id)."""
    ctx = current()
    async with ctx.pool.acquire() as conn:
        await repo.remember_call(conn, call_id=spec.call_id, workflow_id=spec.workflow_id,
                                 incident_id=spec.incident_id, kind=spec.kind, vendor_id=spec.vendor_id)
    command = DialCall(call_id=spec.call_id, call_type=spec.kind, property_id=spec.property_id,
                       to_number=spec.to_number, incident_id=spec.incident_id, vendor_id=spec.vendor_id,
                       briefing=spec.briefing)
    ack = await ctx.js.publish(subjects.CALLS_DIAL, encode(command), headers={"Nats-Msg-Id": _msg_id()})
    log.info("dial requested", extra={"call_id": spec.call_id, "call_type": spec.kind,
                                      "incident_id": spec.incident_id, "duplicate": ack.duplicate})


@retried_step()
async def recorded_result(spec: CallSpec) -> Quote | Decision | None:
    """The call's quote / decision as the database has it: the truth when its event is late.
    After a crash the event in flight is redelivered only after the consumer's ack wait, which
    can be after the hang-up that followed it, and after the grace the call waits for it."""
    async with current().pool.acquire() as conn:
        if spec.incident_id is None:
            return None
        if spec.kind == "vendor" and spec.vendor_id is not None:
            return await repo.recorded_quote(conn, spec.incident_id, spec.vendor_id)
        if spec.kind == "landlord":
            return await repo.recorded_decision(conn, spec.incident_id, spec.call_id)
    return None


async def _tool(request: ToolRequest) -> object:
    """A workflow tool (``tools.workflow.<name>``): acts without a call, as the workflow."""
    name = str(type(request).__struct_config__.tag)
    reply = await current().nc.request(subjects.workflow_tool(name), encode(request), timeout=TOOL_TIMEOUT_S)
    result = TOOL_RESULT_DECODER.decode(reply.data)
    if isinstance(result, ToolError) and (result.retryable or result.code in ("unavailable", "timeout", "internal")):
        raise ToolUnavailable(f"{name}: {result.code}: {result.message}")
    return result


@retried_step()
async def set_incident_status(incident_id: str, status: IncidentStatusName, note: str) -> str:
    """Move the incident; an illegal transition (already moved, or cancelled) is reported, not retried."""
    result = await _tool(UpdateIncidentStatus(incident_id=incident_id, status=status, note=note[:1000]))
    if isinstance(result, IncidentStatusChanged):
        return result.status
    assert isinstance(result, ToolError)
    log.warning("incident status not changed", extra={"incident_id": incident_id, "error": result.message})
    return f"unchanged: {result.message}"


@retried_step()
async def start_time(earliest_start: str | None, vendor: Vendor | None, timezone: str, duration_min: int) -> str:
    """The first slot inside the vendor's working hours (property time zone) from the vendor's
    earliest start, or from an hour from now when that is unknown or already past."""
    now = datetime.now(UTC)
    after = now + LEAD_TIME
    if earliest_start:
        after = max(after, datetime.fromisoformat(earliest_start))
    vendor = vendor or Vendor(id="", name="", phone="", rating=0.0)  # not one of the job's: the default hours
    days = list(vendor.work_days) if vendor.work_days is not None else None
    hours = WorkHours.of(vendor.work_start, vendor.work_end, days)
    return next_slot(hours, after, timezone, timedelta(minutes=duration_min)).isoformat()


@retried_step()
async def start_now(earliest_start: str | None) -> str:
    """An emergency visit: the vendor's earliest start, or now; working hours do not apply."""
    start = datetime.now(UTC) + timedelta(minutes=1)
    if earliest_start:
        start = max(start, datetime.fromisoformat(earliest_start))
    return start.isoformat()


@retried_step()
async def book_repair(job: IncidentJob, vendor_id: str, start: str) -> Booking | BookingFailed:
    """schedule_repair through the tools service (the calendar event id is deterministic)."""
    result = await _tool(ScheduleRepair(incident_id=job.incident_id, vendor_id=vendor_id,
                                        property_id=job.property_id, start=datetime.fromisoformat(start),
                                        duration_minutes=VISIT_MINUTES))
    if isinstance(result, RepairBooked):
        return Booking(booking_id=result.booking_id, calendar_event_id=result.calendar_event_id,
                       start=result.start.isoformat(), end=result.end.isoformat(),
                       booking_reference=result.booking_reference)
    assert isinstance(result, ToolError)
    return BookingFailed(f"{result.code}: {result.message}")


class GeminiOff(Exception):
    """No GEMINI_API_KEY: analysis falls back at once."""


def _worth_retrying(error: BaseException) -> bool:
    return not isinstance(error, (GeminiOff, analysis.UnusableAnswer))


@DBOS.step(retries_allowed=True, max_attempts=3, interval_seconds=0.5, backoff_rate=2.0,
           should_retry=_worth_retrying)
async def ask_gemini(job: IncidentJob, quotes: list[VendorQuote]) -> VendorChoice:
    ctx = current()
    if ctx.gemini is None:
        raise GeminiOff("no GEMINI_API_KEY: quote analysis by Gemini is off")
    return await analysis.ask_gemini(ctx.gemini, ctx.settings.gemini_flash_model, job, quotes)
