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

log = logging.getLogger("fixline.outreach.workflows")
RESULT_TOPIC = "call_result"


def workflow_id(incident_id: str) -> str:
    return f"outreach:{incident_id}"


def call_id_for(child_workflow_id: str) -> str:
    """Deterministic, short and valid as a tool ``call_id``: a re-run dials the same call id."""
    return "oc-" + hashlib.sha256(child_workflow_id.encode()).hexdigest()[:29]


def call_spec(job: dict, kind: str, to_number: str, briefing: str, opts: dict, vendor: dict | None = None) -> dict:
    suffix = f"vendor:{vendor['id']}" if vendor else kind
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
    After the call ended without its record (quote/decision), wait ``grace_s`` for a late one."""
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
    return result


async def _call_vendors(job: dict, opts: dict) -> list[dict]:
    handles = []
    for vendor in job["vendors"]:
        spec = call_spec(job, "vendor", vendor["phone"], briefings.vendor(job, vendor), opts, vendor)
        await steps.progress(job["property_id"], job["incident_id"], "calling_vendor", vendor["name"],
                             vendor["id"], spec["call_id"])
        with SetWorkflowID(spec["workflow_id"]):
            handles.append(await DBOS.start_workflow_async(phone_call, spec))
    results = [await handle.get_result() for handle in handles]
    quotes = []
    for vendor, res in zip(job["vendors"], results):
        quote = res["quote"]
        if quote is None:
            why = "no answer" if res["timed_out"] else f"no quote ({res['ended']})"
            await steps.progress(job["property_id"], job["incident_id"], "no_answer", why, vendor["id"], res["call_id"])
            continue
        quotes.append({**quote, "vendor_name": vendor["name"], "rating": vendor["rating"]})
        await steps.progress(job["property_id"], job["incident_id"], "quote_received",
                             f"{quote['price']:.2f} {quote['currency']}", vendor["id"], res["call_id"])
    return quotes


async def _recommend(job: dict, quotes: list[dict]) -> dict:
    try:
        return await steps.ask_gemini(job, quotes)
    except Exception as exc:  # noqa: BLE001 - any Gemini failure: the deterministic fallback
        log.warning("quote analysis by Gemini failed; cheapest-earliest fallback",
                    extra={"incident_id": job["incident_id"], "error": repr(exc)[:300]})
        return analysis.cheapest_earliest(quotes)


async def _ask_landlord(job: dict, quotes: list[dict], rec: dict, opts: dict) -> dict | None:
    await steps.set_incident_status(job["incident_id"], "awaiting_approval",
                                    f"{len(quotes)} quote(s); recommended {rec['vendor_id']}")
    spec = call_spec(job, "landlord", job["landlord_phone"], briefings.landlord(job, quotes, rec), opts)
    spec["vendor_id"] = rec["vendor_id"]  # the vendor the landlord is asked to approve
    await steps.progress(job["property_id"], job["incident_id"], "calling_landlord", job["landlord_name"] or "",
                         call_id=spec["call_id"])
    with SetWorkflowID(spec["workflow_id"]):
        result = await phone_call(spec)
    return result["decision"]


async def _book_and_tell_guest(job: dict, quotes: list[dict], vendor_id: str, opts: dict) -> dict:
    quote = next((q for q in quotes if q["vendor_id"] == vendor_id), None)
    start = await steps.start_time(quote.get("earliest_start") if quote else None)
    booking = await steps.book_repair(job, vendor_id, start)
    pid, iid = job["property_id"], job["incident_id"]
    if "error" in booking:
        await steps.progress(pid, iid, "failed", f"booking failed: {booking['error']}", vendor_id)
        return {"status": "failed", "reason": booking["error"]}
    await steps.progress(pid, iid, "scheduled", booking["start"], vendor_id)
    if job["caller_phone"]:
        name = quote["vendor_name"] if quote else vendor_id
        spec = call_spec(job, "guest", job["caller_phone"], briefings.guest(job, booking, name), opts)
        await steps.progress(pid, iid, "calling_guest", call_id=spec["call_id"])
        with SetWorkflowID(spec["workflow_id"]):
            await phone_call(spec)
    await steps.progress(pid, iid, "done", f"booked {vendor_id} at {booking['start']}", vendor_id)
    return {"status": "scheduled", "vendor_id": vendor_id, "booking": booking}


@DBOS.workflow()
async def outreach(incident_id: str, opts: dict) -> dict:
    """``opts``: timeout_s, grace_s (recorded with the workflow's inputs, so a replay sees them)."""
    job = await steps.load_job(incident_id)
    if job is None:
        return {"status": "failed", "reason": f"unknown incident {incident_id}"}
    pid = job["property_id"]
    await steps.progress(pid, incident_id, "started", f"{len(job['vendors'])} vendor(s) to call")
    if not job["vendors"]:
        await steps.progress(pid, incident_id, "failed", f"no vendor serves this property for {job['category']}")
        return {"status": "failed", "reason": "no vendors"}
    quotes = await _call_vendors(job, opts)
    if not quotes:
        await steps.progress(pid, incident_id, "failed", "no vendor gave a quote")
        return {"status": "failed", "reason": "no quotes"}
    await steps.progress(pid, incident_id, "analysing", f"{len(quotes)} quote(s)")
    rec = await _recommend(job, quotes)
    await steps.progress(pid, incident_id, "recommended", rec["reason"], rec["vendor_id"])
    if not job["landlord_phone"]:
        await steps.progress(pid, incident_id, "failed", "the property has no landlord to ask")
        return {"status": "failed", "reason": "no landlord"}
    decision = await _ask_landlord(job, quotes, rec, opts)
    if decision is None:
        await steps.progress(pid, incident_id, "failed", "no decision from the landlord")
        return {"status": "failed", "reason": "no decision"}
    if not decision["approved"]:
        await steps.progress(pid, incident_id, "declined", decision.get("notes", ""))
        return {"status": "declined"}
    vendor_id = decision.get("vendor_id") or rec["vendor_id"]
    await steps.progress(pid, incident_id, "approved", decision.get("notes", ""), vendor_id)
    return await _book_and_tell_guest(job, quotes, vendor_id, opts)
