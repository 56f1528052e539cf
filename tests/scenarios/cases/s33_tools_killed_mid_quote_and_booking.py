"""SIGKILL the tools service twice. First right after record_quote committed the first quote
(its reply and the relay of QuoteReceived may not be out): the quote and its outbox row were one
transaction, so the restarted relay publishes it once. Then once schedule_repair has put the
visit in the calendar (the booking row and the reply to outreach may not exist yet): outreach's
book_repair step retries against the restarted service and the deterministic event id finds the
existing event: one visit, one booking. The second plumber checks his diary for a while, so his
quote is recorded after the restart (a tool call while tools is down fails, retryably, and the
scripted agent does not try again)."""
from ..crashes import Crash, in_calendar, quote_recorded, repair_story_with

CRASH = Crash("tools", at=(quote_recorded, in_calendar))

SCENARIO = repair_story_with(
    CRASH, name="tools killed mid-quote, mid-booking",
    story="kill -9 tools as the first quote is recorded and again as the visit is booked.",
    second_vendor_thinks_s=10.0)
