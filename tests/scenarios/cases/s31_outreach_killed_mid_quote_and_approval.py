"""SIGKILL outreach twice. First the moment a plumber's quote is recorded (QuoteReceived on its
way, the vendor still on the phone): the quote the dead process had fetched but not acked comes
back only after the consumer's ack wait, after the hang-up, so the call workflow reads it from
the database; it still counts, nobody is phoned in the vendor's place. Then when the incident
reaches awaiting_approval, as the owner is about to be phoned: the status step replays (an
already-made transition is reported, not retried) and the owner's phone rings once."""
from ..crashes import Crash, awaiting_approval, quote_recorded, repair_story_with

CRASH = Crash("outreach", at=(quote_recorded, awaiting_approval))

SCENARIO = repair_story_with(
    CRASH, name="outreach killed mid-quote+approval",
    story="kill -9 outreach as the first quote is recorded, and again as the owner is to be asked.")
