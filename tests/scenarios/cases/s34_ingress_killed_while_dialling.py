"""SIGKILL ingress while it dials: Twilio is slow to answer calls.create (3 s), so the plumbers'
phones already ring while the dialer still waits for the replies; it has claimed both call ids
but acked neither DialCall nor stored a CallSid, and the carrier's first status callbacks go to a
dead process. The restarted dialer gets both DialCalls again (5 s ack wait) and its claim makes
them duplicates: nobody is rung twice. The plumbers pick up after 8 s, the carrier fetches the
TwiML (the URL carries the call id) from the restarted ingress, and the story goes on. (Calls the
carrier ended while ingress was down are ended at its start: tests/ingress/test_reconcile.py.)"""
import dataclasses

from ..crashes import Crash, plumbers_phones_ringing, repair_story_with

CRASH = Crash("ingress", at=(plumbers_phones_ringing,))


async def slow_twilio(world, run) -> None:
    world.twilio.create_delay_s = 3.0
    await CRASH.before(world, run)


async def twilio_as_usual(world, run) -> None:
    world.twilio.create_delay_s = 0.0
    await CRASH.after(world, run)


SCENARIO = dataclasses.replace(repair_story_with(
    CRASH, name="ingress killed while dialling",
    story="kill -9 ingress while it waits for Twilio and the plumbers' phones ring; nobody is rung twice.",
    plumbers_ring_s=8.0), before=slow_twilio, after=twilio_as_usual)
