"""SIGKILL ingress while the plumbers' phones ring: its dialer has placed both calls, but their
DialCall acks (and perhaps the calls' Twilio sids) are not written, and the carrier's status
callbacks meanwhile go to a dead process. The restarted dialer gets the DialCalls again (after
a 5 s ack wait) and its claim on each call id makes them duplicates: nobody is rung twice. The
plumbers pick up after 8 s; the carrier fetches the TwiML from the restarted ingress and the
story goes on. (Calls the carrier ended while ingress was down are ended at its start, from the
REST API: tests/ingress/test_reconcile.py.)"""
from ..crashes import Crash, plumbers_phones_ringing, repair_story_with

CRASH = Crash("ingress", at=(plumbers_phones_ringing,))

SCENARIO = repair_story_with(
    CRASH, name="ingress killed while dialling",
    story="kill -9 ingress while both plumbers' phones ring; restart; nobody is rung twice, the story ends.",
    plumbers_ring_s=8.0)
