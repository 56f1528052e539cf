"""SIGKILL outreach twice: when the owner's DecisionMade is recorded (just before
schedule_repair) and when the booking row appears (just after it, before the guest is called).
The decision reaches the recovered landlord call (through the durable consumer, or from the
database when its event is held by the dead process); the booking is idempotent (deterministic
calendar event id): one visit, and the guest is called back once."""
from ..crashes import Crash, booked, decision_made, repair_story_with

CRASH = Crash("outreach", at=(decision_made, booked))

SCENARIO = repair_story_with(
    CRASH, name="outreach killed around the booking",
    story="kill -9 outreach when the owner's decision is in, and again when the visit is booked.")
