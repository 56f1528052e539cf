"""SIGKILL a service at a named step of the story, then start it again (cases s30-s39).

A ``Crash`` moves the service into its own process before the guest calls, watches the
database (or the calendar) for the step, kills the process with SIGKILL there, starts it again
after ``down_s`` with the same settings, and after the case puts the in-process service back.
Its ``extra`` facts are read from the outside: who the phone network (Twilio emulator) really
rang and how often, and how many visits the calendar (emulator) holds for the incident."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from .parts import HUMAN_SAYS_SURE, LANDLORD_PHONE, LEAK, STILL, VENDOR_PHONE, caller, guest_callback, \
    guest_reports, landlord_decides, vendor_quotes
from .processes import ServiceProcess, back_in_process, in_own_process, wait_for
from .story import GuestCall, Scenario

Condition = Callable[[Any, list[str]], Awaitable[bool]]  # (world, guest numbers) -> the step is reached
STEP_TIMEOUT_S = 90.0
_OF_INCIDENT = "SELECT id FROM incidents WHERE caller_phone = ANY($1)"


async def _exists(world, sql: str, guests: list[str]) -> bool:
    return bool(await world.pool.fetchval(f"SELECT EXISTS ({sql})", guests))


# The steps of the story a crash can be aimed at, each as seen from the outside.
async def outreach_dialling(world, guests: list[str]) -> bool:
    """The workflow recorded its first call (outreach_calls) and is asking ingress to dial."""
    return await _exists(world, f"SELECT 1 FROM outreach_calls WHERE incident_id IN ({_OF_INCIDENT})", guests)


async def ingress_dialling(world, guests: list[str]) -> bool:
    """Ingress claimed the first outbound call of the incident (calls row) and is dialling it."""
    return await _exists(world, f"SELECT 1 FROM calls WHERE direction = 'outbound' AND incident_id IN"
                                f" ({_OF_INCIDENT})", guests)


async def plumbers_phones_ringing(world, guests: list[str]) -> bool:
    """Ingress has placed both plumbers' calls (the carrier has them, ringing), its acks and
    bookkeeping of them perhaps not done yet."""
    plumbers = {VENDOR_PHONE["v-plumb-1"], VENDOR_PHONE["v-plumb-2"]}
    return {c.to for c in list(world.twilio.calls.values()) if c.status == "ringing"} >= plumbers


async def quote_recorded(world, guests: list[str]) -> bool:
    """The first vendor's quote is in (record_quote committed; QuoteReceived on its way)."""
    return await _exists(world, f"SELECT 1 FROM quotes WHERE incident_id IN ({_OF_INCIDENT})", guests)


async def awaiting_approval(world, guests: list[str]) -> bool:
    """The incident moved to awaiting_approval: the owner is about to be phoned."""
    return await _exists(world, "SELECT 1 FROM incidents WHERE caller_phone = ANY($1)"
                                " AND status = 'awaiting_approval'", guests)


async def decision_made(world, guests: list[str]) -> bool:
    """The owner's DecisionMade is recorded: outreach is about to book."""
    return await _exists(world, f"SELECT 1 FROM approval_decisions WHERE incident_id IN ({_OF_INCIDENT})", guests)


async def booked(world, guests: list[str]) -> bool:
    """The visit is booked (repair_bookings row): outreach is about to record it and call the guest."""
    return await _exists(world, f"SELECT 1 FROM repair_bookings WHERE incident_id IN ({_OF_INCIDENT})", guests)


async def in_calendar(world, guests: list[str]) -> bool:
    """schedule_repair put the event in the calendar (its booking row and reply may not be out yet)."""
    return await calendar_visits(world, guests) > 0


async def calendar_visits(world, guests: list[str]) -> int:
    ids = {r["id"] for r in await world.pool.fetch(_OF_INCIDENT, guests)}
    return sum(1 for cal in world.calendar.store.calendars.values() for event in cal.events.values()
               if event.get("extendedProperties", {}).get("private", {}).get("incident_id") in ids)


def dials(world, baseline: set[str], guests: list[str]) -> dict[str, int]:
    """Who the phone network rang since the case began, and how often: the carrier's own record."""
    names = {**{n: v for v, n in VENDOR_PHONE.items()}, **{n: f"landlord:{p}" for p, n in LANDLORD_PHONE.items()},
             **{g: "guest" for g in guests}}
    counts: dict[str, int] = {}
    for sid, call in list(world.twilio.calls.items()):
        if sid not in baseline and call.direction != "inbound":
            name = names.get(call.to, call.to)
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


@dataclasses.dataclass
class Crash:
    """Kill ``service`` with SIGKILL when each step of ``at`` first holds (in order), starting it
    again ``down_s`` later each time."""
    service: str
    at: tuple[Condition, ...]
    down_s: float = 1.0
    proc: ServiceProcess | None = None
    task: asyncio.Task | None = None
    baseline: set[str] = dataclasses.field(default_factory=set)

    async def before(self, world, run) -> None:
        self.baseline = set(world.twilio.calls)
        self.proc = await in_own_process(world, self.service)
        self.task = asyncio.create_task(self._kill_and_restart(world, run.guests))

    async def _kill_and_restart(self, world, guests: list[str]) -> str:
        assert self.proc is not None
        done: list[str] = []
        for step in self.at:
            if not await wait_for(lambda step=step: step(world, guests), STEP_TIMEOUT_S):
                return f"{step.__name__} never happened (killed at {done})"
            await self.proc.kill()
            await asyncio.sleep(self.down_s)
            await self.proc.start()
            done.append(step.__name__)
        return self.expected()

    def crash(self) -> str:
        if self.task is None or not self.task.done():
            return "waiting"
        if self.task.exception() is not None:
            return f"harness error: {self.task.exception()!r}"
        return self.task.result()

    async def extra(self, world, run) -> dict[str, Any]:
        return {"crash": self.crash(), "dials": dials(world, self.baseline, run.guests),
                "calendar_visits": await calendar_visits(world, run.guests)}

    async def after(self, world, run) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await back_in_process(world, self.service)

    def expected(self) -> str:
        return f"{self.service} killed at {', '.join(step.__name__ for step in self.at)}; restarted each time"


# Every party dialled exactly once (the carrier's record), one visit in the calendar, the story finished.
FINISHED_ONCE = {
    "status": "scheduled", "history": ["open", "awaiting_quotes", "awaiting_approval", "scheduled"],
    "dials": {"v-plumb-1": 1, "v-plumb-2": 1, "landlord:p1": 1, "guest": 1},
    "dialled": {"vendor": 2, "landlord": 1, "guest": 1}, "quotes": 2, "bookings": 1, "calendar_visits": 1,
    "calls_open": 0, "dashboard": {"status": "scheduled", "outreach": "done"}}


def repair_story_with(crash: Crash, name: str, story: str, second_vendor_thinks_s: float = 0.0,
                      plumbers_ring_s: float | None = None) -> Scenario:
    """The full repair (s02: two plumbers quote, the owner approves, booked, guest called back)
    with ``crash`` in it, expecting the same ending as without it."""
    return Scenario(
        name=name, story=story, calls=[GuestCall(caller(LEAK, STILL))],
        agents={"guest": [guest_reports()], "vendor:v-plumb-1": [vendor_quotes(240.0, days=1, at="10:00")],
                "vendor:v-plumb-2": [vendor_quotes(180.0, days=2, at="14:00", think_s=second_vendor_thinks_s)],
                "landlord": [landlord_decides(True)], "guest_callback": [guest_callback()]},
        callees={**{VENDOR_PHONE[v]: {**HUMAN_SAYS_SURE, "ring_s": plumbers_ring_s} if plumbers_ring_s else
                    HUMAN_SAYS_SURE for v in ("v-plumb-1", "v-plumb-2")}, LANDLORD_PHONE["p1"]: caller("Yes.")},
        before=crash.before, extra=crash.extra, after=crash.after,
        expect={"crash": crash.expected(), **FINISHED_ONCE}, timeout_s=150.0)
