"""SIGKILL ingress as it claims and dials the first outbound call (the calls row exists). The
DialCall is redelivered to the restarted dialer, which dials a call id at most once."""
from ..crashes import Crash, ingress_dialling, repair_story_with

CRASH = Crash("ingress", at=(ingress_dialling,))

SCENARIO = repair_story_with(
    CRASH, name="ingress killed while dialling",
    story="kill -9 ingress as it dials the first plumber; restart; nobody is rung twice, the story ends.")
