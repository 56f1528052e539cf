"""SIGKILL outreach right after it recorded its first vendor call (outreach_calls row) and asked
ingress to dial; started again a second later with the same DBOS executor id. Recovery replays
place_call for the calls whose step was not checkpointed: the re-published DialCall is a
JetStream duplicate (and ingress dials a call id once), so each plumber's phone rings once."""
from ..crashes import Crash, outreach_dialling, repair_story_with

CRASH = Crash("outreach", at=(outreach_dialling,))

SCENARIO = repair_story_with(
    CRASH, name="outreach killed while dialling",
    story="kill -9 outreach as it asks ingress to dial the plumbers; restart; the story goes on.")
