"""The lines people and agents say in the stories, so each case file reads as its plot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from .world import agent

LA = "America/Los_Angeles"
VENDOR_PHONE = {"v-plumb-1": "+15550201001", "v-plumb-2": "+15550201002", "v-plumb-5": "+15550201005",
                "v-hvac-2": "+15550203002", "v-appl-1": "+15550204001", "v-appl-2": "+15550204002",
                "v-elec-1": "+15550202001", "v-elec-2": "+15550202002"}
LANDLORD_PHONE = {"p1": "+15550109001", "p2": "+15550109002"}
END = {"tool_call": {"name": "end_call", "args": {"reason": "done"}}, "wait": True}
LEAK = "The kitchen sink is leaking under the cabinet."
STILL = "No, it is still dripping."


def caller(*lines: str, **extra) -> dict:
    """A person on the phone who says each line after the agent has spoken."""
    return {"answered_by": "human", "agent_silence_s": 0.5, "max_duration_s": 60,
            "steps": [{"say": line} for line in lines], **extra}


def guest_reports(category: str = "plumbing", needs_professional: bool = True, urgency: str = "today",
                  problem: str = LEAK, answer: str = STILL, description: str = "") -> dict:
    """The guest persona doing what its prompt says: troubleshoot, then create_incident with facts."""
    return agent(
        {"say": "Hi, Fixline maintenance. How can I help?"},
        {"listen": problem},
        {"tool_call": {"name": "search_maintenance", "args": {"query": problem[:60]}}, "wait": True},
        {"say": "Please try the step in the guide. Did that fix it?"},
        {"listen": answer},
        {"tool_call": {"name": "create_incident", "args": {
            "category": category, "severity": "medium", "needs_professional": needs_professional,
            "urgency": urgency, "description": description or f"{problem} {answer}"}}, "wait": True},
        {"say": "I have logged it and we will call you back with a time. Goodbye."},
        END)


def vendor_quotes(price: float, days: int = 1, at: str = "10:00", then: dict | None = None,
                  think_s: float = 0.0) -> dict:
    """``think_s``: the vendor checks the diary this long before the quote is recorded."""
    steps = [{"say": "Hello, Fixline calling about a repair. Could you quote?"},
             {"listen": "Sure."}, *([{"sleep": think_s}] if think_s else []),
             {"tool_call": {"name": "record_quote", "args": {
                 "price": price, "currency": "USD",
                 "earliest_start": {"$time": {"days": days, "at": at, "tz": LA}}}}, "wait": True}]
    if then:
        steps.append(then)
    return agent(*steps, {"say": "Thanks, we will confirm. Goodbye."}, END)


def vendor_declines() -> dict:
    return agent({"say": "Hello, Fixline calling about a repair. Could you quote?"},
                 {"listen": "Sorry, we are fully booked."},
                 {"say": "No problem, thank you. Goodbye."}, END)


def landlord_decides(approved: bool, notes: str = "") -> dict:
    return agent({"say": "Hello, Fixline about a repair. We recommend the best quote. Do you approve?"},
                 {"listen": "Yes." if approved else "No."},
                 {"tool_call": {"name": "record_decision", "args": {"approved": approved, "notes": notes}},
                  "wait": True},
                 {"say": "Thank you. Goodbye."}, END)


def guest_callback() -> dict:
    return agent({"say": "Hello, Fixline with an update on your repair."}, {"listen": "Thanks."},
                 {"say": "Goodbye."}, END)


def voicemail() -> dict:
    return agent({"say": "Hello, this is Fixline about a repair at Seaside Cottage. Please call us back."}, END)


HUMAN_SAYS_SURE = caller("Sure.")


async def quiet_hours_around_now(world, property_id: str, ends_in_s: float) -> datetime:
    """Give the property quiet hours from an hour ago until ``ends_in_s`` from now (local time of
    day, so "now" is at night for outreach whatever the hour the suite runs); the end in UTC."""
    now = datetime.now(UTC).replace(microsecond=0)
    tz = ZoneInfo(LA)
    start, end = (now - timedelta(hours=1)).astimezone(tz), (now + timedelta(seconds=ends_in_s)).astimezone(tz)
    await world.pool.execute("UPDATE properties SET quiet_start = $2, quiet_end = $3 WHERE id = $1",
                             property_id, start.time(), end.time())
    return end.astimezone(UTC)


async def no_quiet_hours(world, property_id: str) -> None:
    """Back to the setting's default (the suite runs with OUTREACH_QUIET_HOURS=off)."""
    await world.pool.execute("UPDATE properties SET quiet_start = NULL, quiet_end = NULL WHERE id = $1", property_id)


def guest_reports_emergency(category: str, problem: str) -> dict:
    """The guest persona on a dangerous problem: the safety step first, then create_incident
    with urgency emergency at once (no troubleshooting), then what the tool result says."""
    return agent(
        {"say": "Hi, Fixline maintenance. How can I help?"},
        {"listen": problem},
        {"say": "Please leave the property now, do not touch any switches, and call the gas line from outside."},
        {"tool_call": {"name": "create_incident", "args": {
            "category": category, "severity": "emergency", "needs_professional": True, "urgency": "emergency",
            "description": problem}}, "wait": True},
        {"say": "An emergency technician and the owner are being called right now. Stay outside. Goodbye."},
        END)


def vendor_comes_now(price: float, minutes: int = 30) -> dict:
    """An emergency call-out: on the way, there in ``minutes`` (any hour)."""
    return agent({"say": "Hello, Fixline with an emergency call-out. Can you come now?"},
                 {"listen": "Yes, we can come now."},
                 {"tool_call": {"name": "record_quote", "args": {
                     "price": price, "currency": "USD", "earliest_start": {"$time": {"minutes": minutes}}}},
                  "wait": True},
                 {"say": "Thank you. Goodbye."}, END)
