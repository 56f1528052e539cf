"""Every "we will call you back" the system said becomes a call-back: ``callback:<call id>``
dials the guest after OUTREACH_CALLBACK_DELAY_S with a briefing saying why, once per promise
(redelivered promises and restarts included), retries once when nobody answers, then
escalates; a promise that does not match its call dials nobody."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from nats.js.api import DeliverPolicy

from fixline_proto import encode, subjects
from fixline_proto.codec import EVENT_DECODER
from fixline_proto.events import CallbackProgress, CallbackPromised
from tests.support.bus import connect_as
from tests.tools.call_rows import insert_call

from .conftest import outreach
from .harness import World, eventually, unique_phone

FAST = {"outreach_callback_delay_s": 1.0, "outreach_callback_retry_delay_s": 1.0}


class Progress:
    def __init__(self) -> None:
        self.events: list[CallbackProgress] = []

    async def start(self, js) -> "Progress":
        async def on(msg) -> None:
            event = EVENT_DECODER.decode(msg.data)
            if isinstance(event, CallbackProgress):
                self.events.append(event)
        self.sub = await js.subscribe(subjects.event("*", "callback.progress"), ordered_consumer=True,
                                      deliver_policy=DeliverPolicy.ALL, cb=on)
        return self

    def stages(self, call_id: str) -> list[str]:
        return [e.stage for e in self.events if e.call_id == call_id]

    async def wait(self, call_id: str, stage: str, timeout: float = 20.0) -> CallbackProgress:
        await eventually(lambda: stage in self.stages(call_id), timeout, f"call-back stage {stage}")
        return next(e for e in self.events if e.call_id == call_id and e.stage == stage)


async def promise(call_id: str, to_number: str, property_id: str = "p1", reason: str = "agent_unavailable",
                  incident_id: str | None = None) -> CallbackPromised:
    """What the bridge publishes when it tells a caller we will call back (as the bridge role)."""
    event = CallbackPromised(property_id=property_id, call_id=call_id, to_number=to_number, reason=reason,
                             incident_id=incident_id)
    bridge = await connect_as("bridge")
    try:
        await bridge.jetstream().publish(subjects.event(property_id, "callback.promised"), encode(event),
                                         headers={"Nats-Msg-Id": f"{call_id}:callback.promised:{event.id}"})
    finally:
        await bridge.close()
    return event


def guest_dials(world: World, number: str) -> list:
    return [d for d in world.dials if d.call_type == "guest" and d.to_number == number]


async def answered(pool, call_id: str, by: str = "human") -> None:
    await pool.execute("UPDATE calls SET stream_started_at = now(), answered_by = $2 WHERE id = $1", call_id, by)


async def test_a_promise_is_kept_once_after_the_delay_with_the_incident_in_the_briefing(
        world: World, outreach_settings, pool, nc):
    progress = await Progress().start(nc.jetstream())
    async with outreach(outreach_settings(**FAST)):
        incident_id, guest = await world.open_incident("p1")
        call_id = await pool.fetchval("SELECT call_id FROM incidents WHERE id = $1", incident_id)
        promised_at = time.monotonic()
        await promise(call_id, guest, reason="time_limit")  # the bridge knew no incident id: found by the call
        await promise(call_id, guest, reason="time_limit")  # a second promise on the same call: no second call-back
        scheduled = await progress.wait(call_id, "scheduled")
        assert scheduled.incident_id == incident_id and "time limit" in scheduled.detail
        (dial,) = await eventually(lambda: guest_dials(world, guest), 20, "the call-back dial")
        assert time.monotonic() - promised_at >= 1.0  # not before OUTREACH_CALLBACK_DELAY_S
        assert dial.incident_id == incident_id and dial.property_id == "p1"
        assert "as we promised" in dial.briefing and "time limit" in dial.briefing
        assert "Kitchen sink pipe leaking" in dial.briefing and incident_id in dial.briefing
        await answered(pool, dial.call_id)
        await world.hang_up(dial)
        done = await progress.wait(call_id, "done")
        assert done.callback_call_id == dial.call_id
        await promise(dial.call_id, guest)  # the call-back itself cut short: a person, never a chain
        chained = await progress.wait(dial.call_id, "escalated")
        assert "the call-back itself was cut short" in chained.detail
        await asyncio.sleep(1.5)
    assert len(guest_dials(world, guest)) == 1
    assert progress.stages(call_id) == ["scheduled", "calling", "done"]
    await progress.sub.unsubscribe()


async def test_an_unanswered_call_back_is_tried_once_more_then_escalated(world: World, outreach_settings, pool, nc):
    progress = await Progress().start(nc.jetstream())
    guest = unique_phone()
    call_id = await insert_call(pool, property_id="p2", phone=guest)  # cut off before any incident
    async with outreach(outreach_settings(**FAST)):
        await promise(call_id, guest, property_id="p2")
        (first,) = await eventually(lambda: guest_dials(world, guest), 20, "the call-back")
        assert first.incident_id is None and "Nothing was recorded on that call" in first.briefing
        await answered(pool, first.call_id, by="machine_end_beep")  # a machine is not the guest
        await world.hang_up(first)
        await progress.wait(call_id, "no_answer")
        await eventually(lambda: len(guest_dials(world, guest)) == 2, 20, "the retry")
        second = guest_dials(world, guest)[1]
        assert second.call_id != first.call_id
        await world.hang_up(second, reason="no-answer")
        escalated = await progress.wait(call_id, "escalated")
        assert "did not answer 2 call-backs" in escalated.detail
        await asyncio.sleep(1.5)
    assert len(guest_dials(world, guest)) == 2
    assert progress.stages(call_id) == ["scheduled", "calling", "no_answer", "calling", "escalated"]
    await progress.sub.unsubscribe()


async def test_a_promise_that_does_not_match_its_call_dials_nobody(world: World, outreach_settings, pool, nc):
    progress = await Progress().start(nc.jetstream())
    guest, stranger = unique_phone(), unique_phone()
    call_id = await insert_call(pool, property_id="p1", phone=guest)
    other_call = await insert_call(pool, property_id="p1", phone=guest)
    before = await pool.fetchval("SELECT count(*) FROM outreach_calls")
    async with outreach(outreach_settings(**FAST)):
        await promise(call_id, stranger)                       # someone else's number
        await promise("call-made-up", guest)                   # a call we never carried
        await promise(other_call, guest, property_id="p2")     # a call of p1, promised as p2's
        wrong_number = await progress.wait(call_id, "escalated")
        assert "the number is not the caller's" in wrong_number.detail
        for refused in ("call-made-up", other_call):
            assert "names no call of this property" in (await progress.wait(refused, "escalated")).detail
        await asyncio.sleep(2.0)  # longer than the delay: a wrongly accepted promise would have dialled
    assert all(progress.stages(c) == ["escalated"] for c in (call_id, "call-made-up", other_call))
    assert not guest_dials(world, guest) and not guest_dials(world, stranger)
    assert await pool.fetchval("SELECT count(*) FROM outreach_calls") == before


async def test_a_call_back_survives_an_outreach_restart_and_dials_once(world: World, outreach_settings, pool, nc):
    progress = await Progress().start(nc.jetstream())
    guest = unique_phone()
    call_id = await insert_call(pool, property_id="p1", phone=guest)
    settings = outreach_settings(outreach_callback_delay_s=3.0, outreach_callback_retry_delay_s=1.0)
    async with outreach(settings):
        await promise(call_id, guest, reason="tools_unavailable")
        await progress.wait(call_id, "scheduled")  # asleep in DBOS when the service drains
    assert not guest_dials(world, guest)
    async with outreach(settings):  # same executor id: the PENDING workflow resumes
        (dial,) = await eventually(lambda: guest_dials(world, guest), 20, "the call-back after the restart")
        assert "could not record what they asked for" in dial.briefing
        await answered(pool, dial.call_id)
        await world.hang_up(dial)
        await progress.wait(call_id, "done")
        await asyncio.sleep(1.5)
    assert len(guest_dials(world, guest)) == 1
    assert progress.stages(call_id).count("scheduled") == 1
    await progress.sub.unsubscribe()


async def test_a_call_back_waits_for_the_propertys_quiet_hours_to_end(world: World, outreach_settings, pool, nc):
    from .test_quiet_and_emergency import quiet_window

    progress = await Progress().start(nc.jetstream())
    guest = unique_phone()
    call_id = await insert_call(pool, property_id="p3", phone=guest)
    async with quiet_window(pool, "p3", ends_in_s=6) as until, outreach(outreach_settings(**FAST)):
        await promise(call_id, guest, property_id="p3")
        waiting = await eventually(lambda: [e for e in progress.events if e.call_id == call_id
                                            and "quiet hours" in e.detail], 20, "the quiet-hours wait")
        assert waiting[0].stage == "scheduled"
        (dial,) = await eventually(lambda: guest_dials(world, guest), 30, "the call-back after the window")
        assert datetime.now(UTC) >= until  # not one second inside the quiet hours
        await answered(pool, dial.call_id)
        await world.hang_up(dial)
        await progress.wait(call_id, "done")
    await progress.sub.unsubscribe()
