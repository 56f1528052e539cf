"""The outreach workflow of one incident and the phone-call child workflow.

    outreach:<incident>                      quotes -> analysis -> landlord -> booking -> guest
    outreach:<incident>:vendor:<vendor_id>   phone_call (one per vendor, in parallel)
    outreach:<incident>:landlord             phone_call
    outreach:<incident>:guest                phone_call

Workflow code must replay identically: every read of the world (database, clock, Gemini)
is a step; messages arrive through ``DBOS.recv_async`` (sent by ``triggers.ResultRouter``).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Literal

import msgspec
from dbos import DBOS, SetWorkflowID, WorkflowHandleAsync

from . import analysis, briefings, steps
from .jobs import (Booking, CallMessage, CallResult, CallSpec, Decision, Hangup, IncidentJob, Notify, Outcome,
                   OutreachOptions, Quote, Vendor, VendorChoice, VendorQuote)

log = logging.getLogger(__name__)
RESULT_TOPIC = "call_result"
VENDOR_DONE_TOPIC = "vendor_done"  # a vendor call -> its incident's workflow: "I am finished" (its Notify.index)


def workflow_id(incident_id: str) -> str:
    return f"outreach:{incident_id}"


def call_id_for(child_workflow_id: str) -> str:
    """Deterministic, short and valid as a tool ``call_id``: a re-run dials the same call id."""
    return "oc-" + hashlib.sha256(child_workflow_id.encode()).hexdigest()[:29]


def call_spec(job: IncidentJob, kind: Literal["vendor", "landlord", "guest"], to_number: str, briefing: str,
              opts: OutreachOptions, vendor: Vendor | None = None, attempt: int = 1) -> CallSpec:
    suffix = f"vendor:{vendor.id}" if vendor else kind
    suffix += f":{attempt}" if attempt > 1 else ""
    child = f"{workflow_id(job.incident_id)}:{suffix}"
    return CallSpec(workflow_id=child, call_id=call_id_for(child), kind=kind, to_number=to_number,
                    property_id=job.property_id, incident_id=job.incident_id,
                    vendor_id=vendor.id if vendor else None, briefing=briefing, timeout_s=opts.timeout_s,
                    grace_s=opts.grace_s)


def _with_message(result: CallResult, message: CallMessage) -> CallResult:
    """The call's result after one routed message (a hang-up, its quote or its decision)."""
    if isinstance(message, Hangup):
        return msgspec.structs.replace(result, ended=message.reason or "ended")
    if isinstance(message, Quote):
        return msgspec.structs.replace(result, quote=message)
    return msgspec.structs.replace(result, decision=message)


def _awaits_record(kind: str) -> bool:
    """A vendor call is for its quote, the owner's for a decision; a guest call just for the call."""
    return kind in ("vendor", "landlord")


def _record(result: CallResult, kind: str) -> Quote | Decision | None:
    return result.quote if kind == "vendor" else result.decision if kind == "landlord" else None


def _with_record(result: CallResult, record: Quote | Decision | None) -> CallResult:
    if isinstance(record, Quote):
        return msgspec.structs.replace(result, quote=record)
    if isinstance(record, Decision):
        return msgspec.structs.replace(result, decision=record)
    return result


def _complete(result: CallResult, kind: str) -> bool:
    if kind == "landlord" and result.decision is not None:
        return True  # the decision is what we wait for; the hang-up may come later
    if result.ended is None:
        return False
    return not _awaits_record(kind) or _record(result, kind) is not None


@DBOS.workflow()
async def phone_call(spec: CallSpec) -> CallResult:
    """Dial once, then collect the call's results until it is complete or the deadline passes.
    After the call ended without its record (quote/decision), wait ``grace_s`` for a late one,
    then read it from the database (its event may still be on its way after a crash)."""
    await steps.place_call(spec)
    result = CallResult(call_id=spec.call_id, vendor_id=spec.vendor_id)
    deadline = await steps.clock() + spec.timeout_s
    while not _complete(result, spec.kind):
        now = await steps.clock()
        message: CallMessage | None = await DBOS.recv_async(RESULT_TOPIC, timeout_seconds=max(0.0, deadline - now))
        if message is None:
            result = msgspec.structs.replace(result, timed_out=result.ended is None)
            break
        result = _with_message(result, message)
        if result.ended is not None:
            deadline = min(deadline, now + spec.grace_s)
    if _awaits_record(spec.kind) and _record(result, spec.kind) is None:
        result = _with_record(result, await steps.recorded_result(spec))
    if spec.notify is not None:
        await DBOS.send_async(spec.notify.workflow_id, spec.notify.index, VENDOR_DONE_TOPIC)
    return result


async def _outside_quiet_hours(job: IncidentJob) -> None:
    """Before any outbound call: in the property's quiet hours wait (durably) until they end;
    an emergency never waits."""
    if job.emergency:
        return
    for _ in range(3):  # one sleep ends the window; the re-check only guards a clock jump
        wait = await steps.quiet_wait(job.quiet_hours, job.timezone)
        if wait is None:
            return
        await steps.progress(job.property_id, job.incident_id, "waiting",
                             f"quiet hours: waiting until {wait.local_end} before calling")
        await DBOS.sleep_async(wait.seconds)


async def _dial_vendor(job: IncidentJob, index: int, opts: OutreachOptions,
                       attempt: int = 1) -> WorkflowHandleAsync[CallResult]:
    vendor = job.vendors[index]
    await _outside_quiet_hours(job)
    spec = call_spec(job, "vendor", vendor.phone, briefings.vendor(job, vendor), opts, vendor, attempt)
    parent = DBOS.workflow_id
    assert parent is not None  # called by the incident's workflow, which the vendor call reports to
    spec = msgspec.structs.replace(spec, notify=Notify(parent, index))
    await steps.progress(job.property_id, job.incident_id, "calling_vendor", vendor.name, vendor.id, spec.call_id)
    with SetWorkflowID(spec.workflow_id):
        return await DBOS.start_workflow_async(phone_call, spec)


async def _next_finished(waiting: set[int], opts: OutreachOptions) -> int:
    """The index of the next vendor call to finish: children announce it (a recorded message,
    so a replay sees the same order); the lowest index if no announcement comes in time."""
    index: int | None = await DBOS.recv_async(VENDOR_DONE_TOPIC, timeout_seconds=2 * opts.timeout_s + 60)
    return index if index is not None and index in waiting else min(waiting)


async def _vendor_round(job: IncidentJob, opts: OutreachOptions) -> tuple[list[VendorQuote], list[int]]:
    """``job.parallel`` vendors at once; each one that gives no quote (no answer, machine,
    decline) is replaced at once by the next of the trade, up to ``len(job.vendors)`` in all.
    Returns the quotes and the vendors whose answering machine picked up (by index)."""
    vendors = job.vendors
    handles = {i: await _dial_vendor(job, i, opts) for i in range(min(job.parallel, len(vendors)))}
    waiting, quotes, machines = set(handles), list[VendorQuote](), list[int]()
    while waiting:
        i = await _next_finished(waiting, opts)
        waiting.discard(i)
        res = await handles[i].get_result()
        if await _quoted(job, vendors[i], res, quotes):
            continue
        if res.ended is not None and await steps.machine_answered(res.call_id):
            machines.append(i)
        if len(handles) < len(vendors):
            nxt = len(handles)
            handles[nxt] = await _dial_vendor(job, nxt, opts)
            waiting.add(nxt)
    return quotes, machines


async def _quoted(job: IncidentJob, vendor: Vendor, res: CallResult, quotes: list[VendorQuote]) -> bool:
    """Record a vendor call's outcome on the dashboard; True (and the quote kept) if it quoted."""
    pid, iid, quote = job.property_id, job.incident_id, res.quote
    if quote is not None:
        quotes.append(VendorQuote.of(quote, vendor))
        await steps.progress(pid, iid, "quote_received", f"{quote.price:.2f} {quote.currency}", vendor.id, res.call_id)
        return True
    why = "no answer" if res.timed_out else f"no quote ({res.ended})"
    await steps.progress(pid, iid, "no_answer", why, vendor.id, res.call_id)
    return False


async def _retry_machines(job: IncidentJob, machines: list[int], opts: OutreachOptions) -> list[VendorQuote]:
    """Nobody quoted: the vendors whose machine took a voicemail are called once more after
    ``retry_delay_s``, as far as the vendor-call budget (``max_calls``) still allows."""
    vendors, quotes = job.vendors, list[VendorQuote]()
    retry = machines[:max(0, job.max_calls - len(vendors))]
    if not retry:
        return quotes
    delay = opts.retry_delay_s
    names = ", ".join(vendors[i].name for i in retry)
    await steps.progress(job.property_id, job.incident_id, "voicemail_retry",
                         f"answering machine: calling {names} again in {delay:.0f} s")
    await DBOS.sleep_async(delay)
    for i in retry:
        handle = await _dial_vendor(job, i, opts, attempt=2)
        await _quoted(job, vendors[i], await handle.get_result(), quotes)
    return quotes


async def _call_vendors(job: IncidentJob, opts: OutreachOptions) -> list[VendorQuote]:
    quotes, machines = await _vendor_round(job, opts)
    if quotes or not machines:
        return quotes
    return await _retry_machines(job, machines, opts)


async def _recommend(job: IncidentJob, quotes: list[VendorQuote]) -> VendorChoice:
    try:
        return await steps.ask_gemini(job, quotes)
    except Exception as exc:  # noqa: BLE001 - any Gemini failure: the deterministic fallback
        log.warning("quote analysis by Gemini failed; cheapest-earliest fallback",
                    extra={"incident_id": job.incident_id, "error": repr(exc)[:300]})
        return analysis.cheapest_earliest(quotes)


async def _ask_landlord(job: IncidentJob, quotes: list[VendorQuote], rec: VendorChoice,
                        opts: OutreachOptions) -> Decision | None:
    """Phone the owner; without a decision, again after ``retry_delay_s``, up to
    ``landlord_attempts`` calls (each its own child workflow and call id)."""
    pid, iid = job.property_id, job.incident_id
    await steps.set_incident_status(iid, "awaiting_approval", f"{len(quotes)} quote(s); recommended {rec.vendor_id}")
    briefing, attempts = briefings.landlord(job, quotes, rec), max(1, opts.landlord_attempts)
    for attempt in range(1, attempts + 1):
        await _outside_quiet_hours(job)
        spec = call_spec(job, "landlord", job.landlord_phone or "", briefing, opts, attempt=attempt)
        spec = msgspec.structs.replace(spec, vendor_id=rec.vendor_id)  # the vendor the landlord is asked to approve
        await steps.progress(pid, iid, "calling_landlord", job.landlord_name or "", call_id=spec.call_id)
        with SetWorkflowID(spec.workflow_id):
            result = await phone_call(spec)
        if result.decision is not None:
            return result.decision
        if attempt < attempts:
            delay = opts.retry_delay_s
            await steps.progress(pid, iid, "no_answer", f"no decision from the owner; calling again in {delay:.0f} s",
                                 call_id=spec.call_id)
            await DBOS.sleep_async(delay)
    return None


async def _tell_guest(job: IncidentJob, briefing: str, opts: OutreachOptions) -> bool:
    """Call the guest back (when we have their number); True if a call was placed."""
    if not job.caller_phone:
        return False
    await _outside_quiet_hours(job)
    spec = call_spec(job, "guest", job.caller_phone, briefing, opts)
    await steps.progress(job.property_id, job.incident_id, "calling_guest", call_id=spec.call_id)
    with SetWorkflowID(spec.workflow_id):
        await phone_call(spec)
    return True


async def _book_and_tell_guest(job: IncidentJob, quotes: list[VendorQuote], vendor_id: str,
                               opts: OutreachOptions) -> Outcome:
    quote = next((q for q in quotes if q.vendor_id == vendor_id), None)
    vendor = next((v for v in job.vendors if v.id == vendor_id), None)
    earliest = quote.earliest_start if quote else None
    start = await steps.start_now(earliest) if job.emergency else \
        await steps.start_time(earliest, vendor, job.timezone, steps.VISIT_MINUTES)
    booking = await steps.book_repair(job, vendor_id, start)
    pid, iid = job.property_id, job.incident_id
    if not isinstance(booking, Booking):
        await steps.progress(pid, iid, "escalated", f"booking failed: {booking.error}", vendor_id)
        return Outcome(status="failed", reason=booking.error)
    await steps.progress(pid, iid, "scheduled", booking.start, vendor_id)
    name = quote.vendor_name if quote else vendor.name if vendor else vendor_id
    await _tell_guest(job, briefings.guest(job, booking, name), opts)
    await steps.progress(pid, iid, "done", f"booked {vendor_id} at {booking.start}", vendor_id)
    return Outcome(status="scheduled", vendor_id=vendor_id, booking=booking)


async def _declined(job: IncidentJob, decision: Decision, opts: OutreachOptions) -> Outcome:
    """The owner said no: the incident records it (cancelled, with the owner's words) and the
    guest hears it from us; the dashboard shows it for the manager to follow up."""
    pid, iid, notes = job.property_id, job.incident_id, decision.notes
    await steps.set_incident_status(iid, "cancelled", f"the owner declined the repair: {notes}".strip(": "))
    await steps.progress(pid, iid, "declined", notes)
    if await _tell_guest(job, briefings.guest_declined(job), opts):
        await steps.progress(pid, iid, "guest_told", "told the guest the owner declined")
    return Outcome(status="declined")


async def _start_landlord_emergency(job: IncidentJob,
                                    opts: OutreachOptions) -> WorkflowHandleAsync[CallResult] | None:
    """The owner is phoned at the same time as the vendors, briefed as an emergency and asked to
    approve the best emergency vendor's call-out (the child runs while the vendors are called)."""
    if not job.landlord_phone:
        return None
    best = job.vendors[0]
    spec = call_spec(job, "landlord", job.landlord_phone, briefings.landlord_emergency(job, best), opts)
    spec = msgspec.structs.replace(spec, vendor_id=best.id)
    await steps.progress(job.property_id, job.incident_id, "calling_landlord",
                         f"emergency: {job.landlord_name or ''}", call_id=spec.call_id)
    with SetWorkflowID(spec.workflow_id):
        return await DBOS.start_workflow_async(phone_call, spec)


async def _emergency(job: IncidentJob, opts: OutreachOptions) -> Outcome:
    """Danger now: the manager's alert first, then the emergency vendors and the owner phoned at
    once (no quiet or working hours); booked for now when the owner approved a vendor who quoted."""
    pid, iid = job.property_id, job.incident_id
    await steps.raise_alert(job, f"EMERGENCY ({job.category}): {job.description}")
    await steps.progress(pid, iid, "emergency", "vendor and owner phoned now; manager alerted")
    if not job.vendors:
        await steps.progress(pid, iid, "escalated", f"no emergency vendor serves this property for {job.category}")
        return Outcome(status="escalated", reason="no vendors")
    landlord = await _start_landlord_emergency(job, opts)
    quotes = await _call_vendors(job, opts)
    decision = (await landlord.get_result()).decision if landlord is not None else None
    if decision is not None and not decision.approved:
        return await _declined(job, decision, opts)
    vendor_id = (decision.vendor_id if decision else None) or job.vendors[0].id
    if decision is None or all(q.vendor_id != vendor_id for q in quotes):
        why = "no decision from the owner" if decision is None else f"{vendor_id} approved but gave no quote"
        await steps.progress(pid, iid, "escalated", f"emergency: {why}; a person must act now")
        return Outcome(status="escalated", reason=why)
    await steps.progress(pid, iid, "approved", decision.notes, vendor_id)
    return await _book_and_tell_guest(job, quotes, vendor_id, opts)


@DBOS.workflow()
async def outreach(incident_id: str, opts: OutreachOptions) -> Outcome:
    """``opts`` are recorded with the workflow's inputs, so a replay sees them."""
    job = await steps.load_job(incident_id)
    if job is None:
        return Outcome(status="failed", reason=f"unknown incident {incident_id}")
    pid = job.property_id
    await steps.progress(pid, incident_id, "started", f"{len(job.vendors)} vendor(s) to call")
    if job.emergency:
        return await _emergency(job, opts)
    if not job.vendors:
        await steps.progress(pid, incident_id, "escalated", f"no vendor serves this property for {job.category}")
        return Outcome(status="escalated", reason="no vendors")
    quotes = await _call_vendors(job, opts)
    if not quotes:
        await steps.progress(pid, incident_id, "escalated",
                             f"no vendor gave a quote ({len(job.vendors)} called); a person must find one")
        return Outcome(status="escalated", reason="no quotes")
    await steps.progress(pid, incident_id, "analysing", f"{len(quotes)} quote(s)")
    rec = await _recommend(job, quotes)
    await steps.progress(pid, incident_id, "recommended", rec.reason, rec.vendor_id)
    if not job.landlord_phone:
        await steps.progress(pid, incident_id, "escalated", "the property has no landlord to ask")
        return Outcome(status="escalated", reason="no landlord")
    decision = await _ask_landlord(job, quotes, rec, opts)
    if decision is None:
        await steps.progress(pid, incident_id, "escalated", "no decision from the landlord")
        return Outcome(status="escalated", reason="no decision")
    if not decision.approved:
        return await _declined(job, decision, opts)
    vendor_id = decision.vendor_id or rec.vendor_id
    await steps.progress(pid, incident_id, "approved", decision.notes, vendor_id)
    return await _book_and_tell_guest(job, quotes, vendor_id, opts)
