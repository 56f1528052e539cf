"""SIGKILL the tools service twice. First right after record_quote committed the first quote
(its reply and the relay of QuoteReceived may not be out): the quote and its outbox row were one
transaction, so the restarted relay publishes it once. Then mid-schedule_repair: Google is slow
to answer events.insert (3 s), so the visit is in the calendar while tools still waits for the
reply, with no booking row and no answer to outreach. Outreach's book_repair step times out
(15 s) and retries against the restarted service; the deterministic event id finds the existing
event: one visit, one booking. The second plumber checks his diary for a while, so his quote is
recorded after the first restart (a tool call while tools is down fails, retryably, and the
scripted agent does not try again)."""
import dataclasses

from ..crashes import Crash, in_calendar, quote_recorded, repair_story_with

CRASH = Crash("tools", at=(quote_recorded, in_calendar))


async def slow_google(world, run) -> None:
    world.calendar.insert_delay_s = 3.0
    await CRASH.before(world, run)


async def google_as_usual(world, run) -> None:
    world.calendar.insert_delay_s = 0.0
    await CRASH.after(world, run)


SCENARIO = dataclasses.replace(repair_story_with(
    CRASH, name="tools killed mid-quote+booking",
    story="kill -9 tools as the first quote is recorded and again while it books the visit.",
    second_vendor_thinks_s=10.0), before=slow_google, after=google_as_usual)
