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

from dbos import DBOS, SetWorkflowID

from . import analysis, briefings, steps

log = logging.getLogger(__name__)
RESULT_TOPIC = "call_result"
VENDOR_DONE_TOPIC = "vendor_done"  # a vendor call -> its incident's workflow: "I am finished"


def workflow_id(incident_id: str) -> str:
    return f"outreach:{incident_id}"


def call_id_for(child_workflow_id: str) -> str:
    """Deterministic, short and valid as a tool ``call_id``: a re-run dials the same call id."""
    return "oc-" + hashlib.sha256(child_workflow_id.encode()).hexdigest()[:29]


def call_spec(job: dict, kind: str, to_number: str, briefing: str, opts: dict, vendor: dict | None = None,
              attempt: int = 1) -> dict:
    suffix = f"vendor:{vendor['id']}" if vendor else kind
    suffix += f":{attempt}" if attempt > 1 else ""
    child = f"{workflow_id(job['incident_id'])}:{suffix}"
    return {"workflow_id": child, "call_id": call_id_for(child), "kind": kind, "to_number": to_number,
            "property_id": job["property_id"], "incident_id": job["incident_id"],
            "vendor_id": vendor["id"] if vendor else None, "briefing": briefing,
            "timeout_s": opts["timeout_s"], "grace_s": opts["grace_s"]}


def _absorb(result: dict, message: dict) -> None:
    kind = message.get("kind")
    if kind == "call_ended":
        result["ended"] = message.get("reason") or "ended"
    elif kind in ("quote", "decision"):
        result[kind] = message


RECORD_OF = {"vendor": "quote", "landlord": "decision"}  # what each call type is for (guest: just the call)


def _complete(result: dict, kind: str) -> bool:
    if kind == "landlord" and result["decision"] is not None:
        return True  # the decision is what we wait for; the hang-up may come later
    if result["ended"] is None:
        return False
    record = RECORD_OF.get(kind)
    return record is None or result[record] is not None


@DBOS.workflow()
async def phone_call(spec: dict) -> dict:
    """Dial once, then collect the call's results until it is complete or the deadline passes.
    After the call ended without its record (quote/decision), wait ``grace_s`` for a late one,
    then read it from the database (its event may still be on its way after a crash)."""
    await steps.place_call(spec)
    result = {"call_id": spec["call_id"], "vendor_id": spec["vendor_id"], "ended": None, "quote": None,
              "decision": None, "timed_out": False}
    deadline = await steps.clock() + spec["timeout_s"]
    while not _complete(result, spec["kind"]):
        now = await steps.clock()
        message = await DBOS.recv_async(RESULT_TOPIC, timeout_seconds=max(0.0, deadline - now))
        if message is None:
            result["timed_out"] = result["ended"] is None
            break
        _absorb(result, message)
        if result["ended"] is not None:
            deadline = min(deadline, now + spec["grace_s"])
    record = RECORD_OF.get(spec["kind"])
    if record is not None and result[record] is None:
        result[record] = await steps.recorded_result(spec)
    if spec.get("notify"):
        await DBOS.send_async(spec["notify"]["workflow_id"], {"index": spec["notify"]["index"]}, VENDOR_DONE_TOPIC)
    return result


async def _outside_quiet_hours(job: dict) -> None:
    """Before any outbound call: in the property's quiet hours wait (durably) until they end;
    an emergency never waits."""
    if job.get("emergency"):
        return
    for _ in range(3):  # one sleep ends the window; the re-check only guards a clock jump
        wait = await steps.quiet_wait(job["quiet_hours"], job["timezone"])
        if wait is None:
            return
        await steps.progress(job["property_id"], job["incident_id"], "waiting",
                             f"quiet hours: waiting until {wait['local_end']} before calling")
        await DBOS.sleep_async(wait["seconds"])


async def _dial_vendor(job: dict, vendors: list[dict], index: int, opts: dict, attempt: int = 1):
    vendor = vendors[index]
    await _outside_quiet_hours(job)
    spec = call_spec(job, "vendor", vendor["phone"], briefings.vendor(job, vendor), opts, vendor, attempt)
    spec["notify"] = {"workflow_id": DBOS.workflow_id, "index": index}
    await steps.progress(job["property_id"], job["incident_id"], "calling_vendor", vendor["name"],
                         vendor["id"], spec["call_id"])
    with SetWorkflowID(spec["workflow_id"]):
        return await DBOS.start_workflow_async(phone_call, spec)


async def _next_finished(waiting: set[int], opts: dict) -> int:
    """The index of the next vendor call to finish: children announce it (a recorded message,
    so a replay sees the same order); the lowest index if no announcement comes in time."""
    message = await DBOS.recv_async(VENDOR_DONE_TOPIC, timeout_seconds=2 * opts["timeout_s"] + 60)
    return message["index"] if message is not None and message["index"] in waiting else min(waiting)


async def _vendor_round(job: dict, opts: dict) -> tuple[list[dict], list[int]]:
    """``job["parallel"]`` vendors at once; each one that gives no quote (no answer, machine,
    decline) is replaced at once by the next of the trade, up to ``len(job["vendors"])`` in all.
    Returns the quotes and the vendors whose answering machine picked up (by index)."""
    vendors = job["vendors"]
    handles = {i: await _dial_vendor(job, vendors, i, opts) for i in range(min(job["parallel"], len(vendors)))}
    waiting, quotes, machines = set(handles), [], []
    while waiting:
        i = await _next_finished(waiting, opts)
        waiting.discard(i)
        res = await handles[i].get_result()
        if await _quoted(job, vendors[i], res, quotes):
            continue
        if res["ended"] is not None and await steps.machine_answered(res["call_id"]):
            machines.append(i)
        if len(handles) < len(vendors):
            nxt = len(handles)
            handles[nxt] = await _dial_vendor(job, vendors, nxt, opts)
            waiting.add(nxt)
    return quotes, machines


async def _quoted(job: dict, vendor: dict, res: dict, quotes: list[dict]) -> bool:
    """Record a vendor call's outcome on the dashboard; True (and the quote kept) if it quoted."""
    pid, iid, quote = job["property_id"], job["incident_id"], res["quote"]
    if quote is not None:
        quotes.append({**quote, "vendor_name": vendor["name"], "rating": vendor["rating"]})
        await steps.progress(pid, iid, "quote_received", f"{quote['price']:.2f} {quote['currency']}",
                             vendor["id"], res["call_id"])
        return True
    why = "no answer" if res["timed_out"] else f"no quote ({res['ended']})"
    await steps.progress(pid, iid, "no_answer", why, vendor["id"], res["call_id"])
    return False


async def _retry_machines(job: dict, machines: list[int], opts: dict) -> list[dict]:
    """Nobody quoted: the vendors whose machine took a voicemail are called once more after
    ``retry_delay_s``, as far as the vendor-call budget (``max_calls``) still allows."""
    vendors, quotes = job["vendors"], []
    retry = machines[:max(0, job["max_calls"] - len(vendors))]
    if not retry:
        return quotes
    delay = opts.get("retry_delay_s", 600.0)
    names = ", ".join(vendors[i]["name"] for i in retry)
    await steps.progress(job["property_id"], job["incident_id"], "voicemail_retry",
                         f"answering machine: calling {names} again in {delay:.0f} s")
    await DBOS.sleep_async(delay)
    for i in retry:
        handle = await _dial_vendor(job, vendors, i, opts, attempt=2)
        await _quoted(job, vendors[i], await handle.get_result(), quotes)
    return quotes


async def _call_vendors(job: dict, opts: dict) -> list[dict]:
    quotes, machines = await _vendor_round(job, opts)
    if quotes or not machines:
        return quotes
    return await _retry_machines(job, machines, opts)


async def _recommend(job: dict, quotes: list[dict]) -> dict:
    try:
        return await steps.ask_gemini(job, quotes)
    except Exception as exc:  # noqa: BLE001 - any Gemini failure: the deterministic fallback
        log.warning("quote analysis by Gemini failed; cheapest-earliest fallback",
                    extra={"incident_id": job["incident_id"], "error": repr(exc)[:300]})
        return analysis.cheapest_earliest(quotes)


async def _ask_landlord(job: dict, quotes: list[dict], rec: dict, opts: dict) -> dict | None:
    """Phone the owner; without a decision, again after ``retry_delay_s``, up to
    ``landlord_attempts`` calls (each its own child workflow and call id)."""
    pid, iid = job["property_id"], job["incident_id"]
    await steps.set_incident_status(iid, "awaiting_approval", f"{len(quotes)} quote(s); recommended {rec['vendor_id']}")
    briefing, attempts = briefings.landlord(job, quotes, rec), max(1, opts.get("landlord_attempts", 1))
    for attempt in range(1, attempts + 1):
        await _outside_quiet_hours(job)
        spec = call_spec(job, "landlord", job["landlord_phone"], briefing, opts, attempt=attempt)
        spec["vendor_id"] = rec["vendor_id"]  # the vendor the landlord is asked to approve
        await steps.progress(pid, iid, "calling_landlord", job["landlord_name"] or "", call_id=spec["call_id"])
        with SetWorkflowID(spec["workflow_id"]):
            result = await phone_call(spec)
        if result["decision"] is not None:
            return result["decision"]
        if attempt < attempts:
            delay = opts.get("retry_delay_s", 600.0)
            await steps.progress(pid, iid, "no_answer", f"no decision from the owner; calling again in {delay:.0f} s",
                                 call_id=spec["call_id"])
            await DBOS.sleep_async(delay)
    return None


async def _tell_guest(job: dict, briefing: str, opts: dict) -> bool:
    """Call the guest back (when we have their number); True if a call was placed."""
    if not job["caller_phone"]:
        return False
    await _outside_quiet_hours(job)
    spec = call_spec(job, "guest", job["caller_phone"], briefing, opts)
    await steps.progress(job["property_id"], job["incident_id"], "calling_guest", call_id=spec["call_id"])
    with SetWorkflowID(spec["workflow_id"]):
        await phone_call(spec)
    return True


async def _book_and_tell_guest(job: dict, quotes: list[dict], vendor_id: str, opts: dict) -> dict:
    quote = next((q for q in quotes if q["vendor_id"] == vendor_id), None)
    vendor = next((v for v in job["vendors"] if v["id"] == vendor_id), {})
    earliest = quote.get("earliest_start") if quote else None
    start = await steps.start_now(earliest) if job.get("emergency") else \
        await steps.start_time(earliest, vendor, job["timezone"], steps.VISIT_MINUTES)
    booking = await steps.book_repair(job, vendor_id, start)
    pid, iid = job["property_id"], job["incident_id"]
    if "error" in booking:
        await steps.progress(pid, iid, "escalated", f"booking failed: {booking['error']}", vendor_id)
        return {"status": "failed", "reason": booking["error"]}
    await steps.progress(pid, iid, "scheduled", booking["start"], vendor_id)
    name = quote["vendor_name"] if quote else vendor.get("name", vendor_id)
    await _tell_guest(job, briefings.guest(job, booking, name), opts)
    await steps.progress(pid, iid, "done", f"booked {vendor_id} at {booking['start']}", vendor_id)
    return {"status": "scheduled", "vendor_id": vendor_id, "booking": booking}


async def _declined(job: dict, decision: dict, opts: dict) -> dict:
    """The owner said no: the incident records it (cancelled, with the owner's words) and the
    guest hears it from us; the dashboard shows it for the manager to follow up."""
    pid, iid, notes = job["property_id"], job["incident_id"], decision.get("notes", "")
    await steps.set_incident_status(iid, "cancelled", f"the owner declined the repair: {notes}".strip(": "))
    await steps.progress(pid, iid, "declined", notes)
    if await _tell_guest(job, briefings.guest_declined(job), opts):
        await steps.progress(pid, iid, "guest_told", "told the guest the owner declined")
    return {"status": "declined"}


async def _start_landlord_emergency(job: dict, opts: dict):
    """The owner is phoned at the same time as the vendors, briefed as an emergency and asked to
    approve the best emergency vendor's call-out (the child runs while the vendors are called)."""
    if not job["landlord_phone"]:
        return None
    spec = call_spec(job, "landlord", job["landlord_phone"], briefings.landlord_emergency(job, job["vendors"][0]),
                     opts)
    spec["vendor_id"] = job["vendors"][0]["id"]
    await steps.progress(job["property_id"], job["incident_id"], "calling_landlord",
                         f"emergency: {job['landlord_name'] or ''}", call_id=spec["call_id"])
    with SetWorkflowID(spec["workflow_id"]):
        return await DBOS.start_workflow_async(phone_call, spec)


async def _emergency(job: dict, opts: dict) -> dict:
    """Danger now: the manager's alert first, then the emergency vendors and the owner phoned at
    once (no quiet or working hours); booked for now when the owner approved a vendor who quoted."""
    pid, iid = job["property_id"], job["incident_id"]
    await steps.raise_alert(job, f"EMERGENCY ({job['category']}): {job['description']}")
    await steps.progress(pid, iid, "emergency", "vendor and owner phoned now; manager alerted")
    if not job["vendors"]:
        await steps.progress(pid, iid, "escalated", f"no emergency vendor serves this property for {job['category']}")
        return {"status": "escalated", "reason": "no vendors"}
    landlord = await _start_landlord_emergency(job, opts)
    quotes = await _call_vendors(job, opts)
    decision = (await landlord.get_result())["decision"] if landlord is not None else None
    if decision is not None and not decision["approved"]:
        return await _declined(job, decision, opts)
    vendor_id = (decision or {}).get("vendor_id") or job["vendors"][0]["id"]
    if decision is None or all(q["vendor_id"] != vendor_id for q in quotes):
        why = "no decision from the owner" if decision is None else f"{vendor_id} approved but gave no quote"
        await steps.progress(pid, iid, "escalated", f"emergency: {why}; a person must act now")
        return {"status": "escalated", "reason": why}
    await steps.progress(pid, iid, "approved", decision.get("notes", ""), vendor_id)
    return await _book_and_tell_guest(job, quotes, vendor_id, opts)


@DBOS.workflow()
async def outreach(incident_id: str, opts: dict) -> dict:
    """``opts``: timeout_s, grace_s (recorded with the workflow's inputs, so a replay sees them)."""
    job = await steps.load_job(incident_id)
    if job is None:
        return {"status": "failed", "reason": f"unknown incident {incident_id}"}
    pid = job["property_id"]
    await steps.progress(pid, incident_id, "started", f"{len(job['vendors'])} vendor(s) to call")
    if job["emergency"]:
        return await _emergency(job, opts)
    if not job["vendors"]:
        await steps.progress(pid, incident_id, "escalated", f"no vendor serves this property for {job['category']}")
        return {"status": "escalated", "reason": "no vendors"}
    quotes = await _call_vendors(job, opts)
    if not quotes:
        await steps.progress(pid, incident_id, "escalated",
                             f"no vendor gave a quote ({len(job['vendors'])} called); a person must find one")
        return {"status": "escalated", "reason": "no quotes"}
    await steps.progress(pid, incident_id, "analysing", f"{len(quotes)} quote(s)")
    rec = await _recommend(job, quotes)
    await steps.progress(pid, incident_id, "recommended", rec["reason"], rec["vendor_id"])
    if not job["landlord_phone"]:
        await steps.progress(pid, incident_id, "escalated", "the property has no landlord to ask")
        return {"status": "escalated", "reason": "no landlord"}
    decision = await _ask_landlord(job, quotes, rec, opts)
    if decision is None:
        await steps.progress(pid, incident_id, "escalated", "no decision from the landlord")
        return {"status": "escalated", "reason": "no decision"}
    if not decision["approved"]:
        return await _declined(job, decision, opts)
    vendor_id = decision.get("vendor_id") or rec["vendor_id"]
    await steps.progress(pid, incident_id, "approved", decision.get("notes", ""), vendor_id)
    return await _book_and_tell_guest(job, quotes, vendor_id, opts)
