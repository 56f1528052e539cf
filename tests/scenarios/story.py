"""A scenario: who plays which part, what happens on the phone, and the final state expected.
``observe`` reads the final state the way an operator would check it: the database (incident,
history, calls, bookings), the outreach feed and the dashboard folded from the event stream."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

from fixline_proto import subjects
from services.notifier.state import DashboardState
from tests.support.events import stream_events

from .world import StoryWorld

GUEST_PICKS_UP = {"answered_by": "human", "agent_silence_s": 0.5, "max_duration_s": 30,
                  "steps": [{"say": "Thanks."}]}
PROPERTY_NUMBERS = {"p1": "+15550100001", "p2": "+15550100002", "p3": "+15550100003"}


def new_guest_number() -> str:
    return "+1555" + str(uuid.uuid4().int)[:7]


@dataclasses.dataclass
class GuestCall:
    """An inbound call: the caller's script (Twilio callee format) to a property's number."""
    caller: dict
    property_id: str = "p1"
    after_s: float = 0.0          # placed this long after the previous one started
    status_callback: bool = False  # the number is configured to send status callbacks
    same_caller_as: int | None = None  # the same person as call number N (0-based) calls again
    from_number: str = ""           # a known number (a vendor's) instead of a new guest


@dataclasses.dataclass
class Scenario:
    name: str
    story: str                          # one line: what happens
    calls: list[GuestCall]
    agents: dict[str, list[dict]]       # persona (guest, vendor, vendor:<id>, landlord, guest_callback...) -> scripts
    expect: dict[str, Any]
    callees: dict[str, dict] = dataclasses.field(default_factory=dict)  # outbound number -> callee script
    before: Callable[[StoryWorld, "Run"], Awaitable[None]] | None = None
    after: Callable[[StoryWorld, "Run"], Awaitable[None]] | None = None  # undo what ``before`` set, pass or fail
    extra: Callable[[StoryWorld, "Run"], Awaitable[dict[str, Any]]] | None = None  # story-specific facts
    after: Callable[[StoryWorld, "Run"], Awaitable[None]] | None = None  # undo what ``before`` changed
    timeout_s: float = 120.0


@dataclasses.dataclass
class Run:
    scenario: Scenario
    guests: list[str]
    twilio_calls: list = dataclasses.field(default_factory=list)
    notes: dict[str, Any] = dataclasses.field(default_factory=dict)  # what a case's hooks remember


async def play(world: StoryWorld, scenario: Scenario) -> Run:
    numbers: list[str] = []
    for call in scenario.calls:
        numbers.append(call.from_number or (numbers[call.same_caller_as] if call.same_caller_as is not None
                                            else new_guest_number()))
    run = Run(scenario, numbers)
    world.agents = {k: list(v) for k, v in scenario.agents.items()}
    for number, script in scenario.callees.items():
        world.twilio.set_callee(number, script)
    for guest in run.guests:  # the guest picks up when called back
        world.twilio.set_callee(guest, scenario.callees.get("guest", GUEST_PICKS_UP))
    if scenario.before:
        await scenario.before(world, run)
    for guest, call in zip(run.guests, scenario.calls, strict=True):
        await asyncio.sleep(call.after_s)
        run.twilio_calls.append(await world.twilio.place_inbound_call(
            to=PROPERTY_NUMBERS[call.property_id], from_=guest, voice_url=f"{world.ingress_url}/twilio/voice",
            callee_script=call.caller,
            status_callback=f"{world.ingress_url}/twilio/status" if call.status_callback else None))
    return run


async def settle(world: StoryWorld, run: Run) -> dict[str, Any]:
    """Observe until the expected state holds and stays (2 s), or the timeout: then what is."""
    expect, deadline = run.scenario.expect, time.monotonic() + run.scenario.timeout_s
    got: dict[str, Any] = {}
    while time.monotonic() < deadline:
        got = await observe(world, run, set(expect))
        if got == expect:
            await asyncio.sleep(2.0)
            got = await observe(world, run, set(expect))
            if got == expect:
                break
        await asyncio.sleep(0.5)
    return got


async def observe(world: StoryWorld, run: Run, keys: set[str]) -> dict[str, Any]:
    db = await _from_database(world, run)
    if keys & {"dashboard", "live_calls", "stages", "outcomes"}:
        db.update(await _from_dashboard(world, db["_incident_ids"], db["_call_ids"]))
    if run.scenario.extra:
        db.update(await run.scenario.extra(world, run))
    return {k: db.get(k) for k in sorted(keys)}


async def _from_database(world: StoryWorld, run: Run) -> dict[str, Any]:
    pool, guests = world.pool, run.guests
    guests = sorted(set(guests))
    incidents = await pool.fetch("SELECT id, status, severity, urgency FROM incidents WHERE caller_phone = ANY($1)"
                                 " ORDER BY created_at", guests)
    ids = [i["id"] for i in incidents]
    calls = await pool.fetch(
        "SELECT id, call_type, direction, vendor_id, to_number, end_reason, ended_at, answered_by FROM calls"
        " WHERE (direction = 'inbound' AND from_number = ANY($1)) OR incident_id = ANY($2) ORDER BY created_at",
        guests, ids)
    outbound = [c for c in calls if c["direction"] == "outbound"]
    last = ids[-1] if ids else None
    history = [r["to_status"] for r in await pool.fetch(
        "SELECT to_status FROM incident_status_history WHERE incident_id = $1 ORDER BY id", last)] if last else []
    bookings = await pool.fetch("SELECT starts_at, ends_at, p.timezone FROM repair_bookings b"
                                " JOIN properties p ON p.id = b.property_id WHERE incident_id = ANY($1)", ids)
    reported = {r["call_id"]: r["outcome"] for r in await pool.fetch(
        "SELECT call_id, outcome FROM call_reports WHERE call_id = ANY($1)", [c["id"] for c in calls])}
    return {
        "_incident_ids": ids, "_call_ids": [c["id"] for c in calls],
        # each call's end-of-call report outcome (sorted; "-" while a call has none)
        "reports": sorted(f"{c['call_type']}/{c['direction']}:{reported.get(c['id'], '-')}" for c in calls),
        "incidents": len(ids),
        "status": incidents[-1]["status"] if incidents else None,
        "urgency": incidents[-1]["urgency"] if incidents else None,
        "history": history,
        "dialled": {t: sum(1 for c in outbound if c["call_type"] == t) for t in ("vendor", "landlord", "guest")},
        "vendors": sorted(c["vendor_id"] for c in outbound if c["call_type"] == "vendor"),
        "machine": sorted({c["vendor_id"] or c["to_number"] for c in outbound if (c["answered_by"] or "")
                           .startswith("machine")}),
        "calls_open": sum(1 for c in calls if c["ended_at"] is None),
        "open_calls": [f"{c['call_type']}/{c['direction']}/{c['id']}" for c in calls if c["ended_at"] is None],
        "guest_end_reasons": [c["end_reason"] for c in calls if c["direction"] == "inbound"],
        "bookings": len(bookings),
        "booked_in_hours": all(_in_hours(b) for b in bookings) if bookings else None,
        "quotes": await pool.fetchval("SELECT count(*) FROM quotes WHERE incident_id = ANY($1)", ids),
        "quotes_recorded": await pool.fetchval(  # every accepted record_quote publishes one QuoteReceived
            "SELECT count(*) FROM outbox WHERE subject LIKE 'events.%.quote.received'"
            " AND convert_from(payload, 'UTF8') LIKE ANY($1)", [f"%{i}%" for i in ids]) if ids else 0,
        "codes_released": await pool.fetchval(
            "SELECT count(*) FROM access_code_releases WHERE caller_phone = ANY($1) AND granted", guests),
        "code_refusals": [r["reason"] for r in await pool.fetch(
            "SELECT reason FROM access_code_releases WHERE caller_phone = ANY($1) AND NOT granted"
            " ORDER BY id", guests)],
    }


def _in_hours(booking) -> bool:
    tz = ZoneInfo(booking["timezone"])
    start, end = booking["starts_at"].astimezone(tz), booking["ends_at"].astimezone(tz)
    return start.hour >= 8 and (end.hour, end.minute) <= (18, 0) and start.date() == end.date()


async def _from_dashboard(world: StoryWorld, incident_ids: list[str], call_ids: list[str]) -> dict[str, Any]:
    """What the dashboard shows, folded from the stream exactly as the notifier does."""
    state, outcomes = DashboardState(), []
    for seq, event in enumerate(await stream_events(world.nc, subjects.EVENTS_ALL, idle_s=0.5), 1):
        if getattr(event, "incident_id", None) in incident_ids or getattr(event, "call_id", None) in call_ids:
            state.apply(event, seq)
            if event.__struct_config__.tag == "call.outcome" and event.call_id in call_ids[:1]:
                outcomes.append(event.outcome)
    incidents = [state.incidents[i] for i in incident_ids if i in state.incidents]
    last = incidents[-1] if incidents else None
    return {
        "dashboard": {"status": last.status, "outreach": last.outreach[-1].stage if last.outreach else None}
        if last else None,
        "live_calls": sum(1 for c in state.calls.values() if c.live),
        "stages": [step.stage for i in incidents for step in i.outreach],
        "outcomes": outcomes,  # how the agent's side of the first call ended (the bridge's CallOutcome)
    }
