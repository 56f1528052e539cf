"""Twilio emulator: REST Calls API + carrier (signed webhooks, Media Streams, callbacks)."""
from .call import Call, TimelineEvent
from .callee import CalleeScript, CalleeStep
from .media import Playback
from .server import DEFAULT_ACCOUNT_SID, TwilioEmulator
from .stream import MediaStream
from .twiml import StreamSpec, TwimlError, TwimlSource, Verb, parse_twiml

__all__ = ["Call", "CalleeScript", "CalleeStep", "DEFAULT_ACCOUNT_SID", "MediaStream", "Playback",
           "StreamSpec", "TimelineEvent", "TwilioEmulator", "TwimlError", "TwimlSource", "Verb",
           "parse_twiml"]
