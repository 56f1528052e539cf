"""Every "we will call you back" the system said becomes a call-back: ``callback:<call id>``.

    CallbackPromised (bridge: apology fallback, time limit, tools down)
      └─ CallbackTrigger ── start workflow callback:<call id>   (one per promise, across restarts)
           check_promise   the call exists, on that property, with that number; not itself a call-back
           report scheduled ── DBOS.sleep OUTREACH_CALLBACK_DELAY_S
           child callback:<call id>:1  phone_call (guest persona, briefing: why the call was cut, the incident)
           not reached (no answer, busy, a machine) → report no_answer, sleep OUTREACH_CALLBACK_RETRY_DELAY_S,
           child callback:<call id>:2; still not reached → report escalated (a person must call)
           reached → report done

Progress goes to the dashboard as ``CallbackProgress`` events (on the cut-off call, and on its
incident when it has one). Workflow code replays identically: the world is read in steps.
"""

from __future__ import annotations

import logging
from functools import partial

from dbos import DBOS, SetWorkflowID

from fixline_proto import encode, subjects
from fixline_proto.events import CallbackProgress, CallbackPromised, CallbackStage

from . import briefings, callback_repo, steps, workflows
from .context import current
from .jobs import CallbackJob, CallbackOptions, CallSpec, Outcome, Promise, Refusal
from .triggers import Consumer

log = logging.getLogger(__name__)
ATTEMPTS = 2  # the call-back, and one retry if nobody (or a machine) answered


def workflow_id(call_id: str) -> str:
    return f"callback:{call_id}"


def promise_of(event: CallbackPromised) -> Promise:
    return Promise(call_id=event.call_id, property_id=event.property_id, to_number=event.to_number,
                   reason=event.reason, incident_id=event.incident_id, note=event.note,
                   promised_at=event.occurred_at.isoformat())


@steps.retried_step()
async def check_promise(promise: Promise) -> CallbackJob | Refusal:
    """The cut-off call as the database knows it: refused unless the promise matches it."""
    ctx = current()
    quiet_hours_of = partial(steps.quiet_hours_of, default=ctx.settings.outreach_quiet_hours)
    async with ctx.pool.acquire() as conn:
        return await callback_repo.load(conn, promise, quiet_hours_of)


@steps.retried_step()
async def report(promise: Promise, stage: CallbackStage, detail: str = "", callback_call_id: str | None = None,
                 incident_id: str | None = None) -> None:
    msg_id = f"{DBOS.workflow_id}:{DBOS.step_id}"
    event = CallbackProgress(id=msg_id, property_id=promise.property_id, call_id=promise.call_id,
                             stage=stage, detail=detail[:500], callback_call_id=callback_call_id,
                             incident_id=incident_id)
    await current().js.publish(subjects.event(promise.property_id, "callback.progress"), encode(event),
                               headers={"Nats-Msg-Id": msg_id})


@steps.retried_step()
async def reached(call_id: str) -> bool:
    async with current().pool.acquire() as conn:
        return await callback_repo.reached_a_person(conn, call_id)


async def _outside_quiet_hours(promise: Promise, job: CallbackJob) -> None:
    """A call-back is not an emergency: in the property's quiet hours it waits (durably) for them to end."""
    for _ in range(3):  # one sleep ends the window; the re-check only guards a clock jump
        wait = await steps.quiet_wait(job.quiet_hours, job.timezone)
        if wait is None:
            return
        await report(promise, "scheduled", f"quiet hours: calling back at {wait.local_end}",
                     incident_id=job.incident_id)
        await DBOS.sleep_async(wait.seconds)


def _spec(job: CallbackJob, attempt: int, opts: CallbackOptions) -> CallSpec:
    child = f"{workflow_id(job.call_id)}:{attempt}"
    return CallSpec(workflow_id=child, call_id=workflows.call_id_for(child), kind="guest", to_number=job.to_number,
                    property_id=job.property_id, incident_id=job.incident_id, vendor_id=None,
                    briefing=briefings.callback(job), timeout_s=opts.timeout_s, grace_s=opts.grace_s)


@DBOS.workflow()
async def callback(promise: Promise, opts: CallbackOptions) -> Outcome:
    """``opts`` are recorded with the inputs, so a replay sees them."""
    job = await check_promise(promise)
    if isinstance(job, Refusal):
        await report(promise, "escalated", f"no call-back: {job.reason}", incident_id=job.incident_id)
        return Outcome(status="escalated", reason=job.reason)
    incident = job.incident_id
    await report(promise, "scheduled", f"{job.why}; calling back in {opts.delay_s:.0f} s", incident_id=incident)
    await DBOS.sleep_async(opts.delay_s)
    for attempt in range(1, ATTEMPTS + 1):
        await _outside_quiet_hours(promise, job)
        spec = _spec(job, attempt, opts)
        await report(promise, "calling", f"attempt {attempt}", spec.call_id, incident)
        with SetWorkflowID(spec.workflow_id):
            await workflows.phone_call(spec)
        if await reached(spec.call_id):
            await report(promise, "done", "the guest was called back", spec.call_id, incident)
            return Outcome(status="done", call_id=spec.call_id, attempts=attempt)
        if attempt < ATTEMPTS:
            delay = opts.retry_delay_s
            await report(promise, "no_answer", f"not reached; trying again in {delay:.0f} s", spec.call_id, incident)
            await DBOS.sleep_async(delay)
    await report(promise, "escalated", f"the guest did not answer {ATTEMPTS} call-backs; a person must call",
                 incident_id=incident)
    return Outcome(status="escalated", reason="not reached")


class CallbackTrigger(Consumer):
    """``events.*.callback.promised`` -> ``callback:<call id>`` (a redelivery is a no-op)."""

    name_setting = "outreach_trigger_consumer"
    filters = [subjects.event("*", "callback.promised")]

    @property
    def durable(self) -> str:
        return f"{self.ctx.settings.outreach_trigger_consumer}-callbacks"

    async def handle(self, event: object) -> None:
        if not isinstance(event, CallbackPromised):
            return
        s = self.ctx.settings
        opts = CallbackOptions(delay_s=s.outreach_callback_delay_s, retry_delay_s=s.outreach_callback_retry_delay_s,
                               timeout_s=s.outreach_call_timeout_s, grace_s=s.outreach_result_grace_s)
        with SetWorkflowID(workflow_id(event.call_id)):
            await DBOS.start_workflow_async(callback, promise_of(event), opts)
        log.info("call-back scheduled", extra={"call_id": event.call_id, "reason": event.reason})
