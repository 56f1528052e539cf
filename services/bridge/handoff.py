"""Warm hand-off: the agent's ``transfer_to_human`` dials the property's manager line, who hears
a one-line whisper (who is calling, which property, the incident, why) before the caller is
connected.

The bridge only builds the TwiML (``<Dial action><Number url>``) and says that a hand-off was
requested (``CallHandoff`` stage ``requested``); ingress serves the signed whisper and Dial
action webhooks (``services/ingress/handoff.py``) and, when nobody answers, puts the caller
back on a fresh stream to the agent. The whisper travels in the whisper URL's query (base64url), which
Twilio signs: a changed summary fails the signature. It never carries a number or a code.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from fixline_proto.events import CallHandoff

from .call_context import CallContext

WHISPER_PATH = "/twilio/handoff/whisper"
RESULT_PATH = "/twilio/handoff/result"
SUMMARY_MAX_CHARS = 200
REASON_MAX_CHARS = 120
# Runs of 3+ digits (door codes, phone numbers, booking references) and anything said after a
# word for a secret, up to the end of its clause.
_DIGIT_RUN = re.compile(r"\+?\d[\d\s\-.]{1,}\d")
_SECRET_CLAUSE = re.compile(r"\b(codes?|pins?|passwords?|passcodes?|combinations?|keys?)\b[^,.;!?]*",
                            re.IGNORECASE)
_WHO = {"guest": "a guest", "vendor": "a vendor", "landlord": "the owner"}


def redact(text: str) -> str:
    """The text without digit runs or secret clauses, on one line."""
    text = _SECRET_CLAUSE.sub("[withheld]", " ".join(text.split()))
    return _DIGIT_RUN.sub(lambda m: m.group() if len(re.sub(r"\D", "", m.group())) < 3 else "[number]", text)


def whisper_summary(ctx: CallContext, reason: str) -> str:
    """One line for the person picking up: who, which property, the incident, why."""
    who = _WHO.get(ctx.call_type, "a caller")
    incident = " about an open incident" if ctx.incident_id else ""
    why = redact(reason)[:REASON_MAX_CHARS].strip()
    line = f"Fixline transfer: {who} at {ctx.display_name}{incident}" + (f". Reason: {why}" if why else "")
    return redact(line)[:SUMMARY_MAX_CHARS]


def encode_summary(summary: str) -> str:
    """base64url: the signed URL stays byte-identical through any client that re-quotes a query."""
    return base64.urlsafe_b64encode(summary.encode()).decode().rstrip("=")


@dataclass(frozen=True)
class HandoffPlan:
    number: str
    summary: str
    whisper_url: str
    action_url: str

    def requested(self, ctx: CallContext) -> tuple[CallHandoff, str]:
        """The ``requested`` event and its ``Nats-Msg-Id``."""
        event = CallHandoff(property_id=ctx.property_id, call_id=ctx.call_id, stage="requested",
                            to_number=self.number, summary=self.summary, incident_id=ctx.incident_id or None)
        return event, f"{ctx.stream_key}:handoff.requested"


def plan_handoff(ctx: CallContext, number: str, reason: str, public_base_url: str) -> HandoffPlan:
    summary = whisper_summary(ctx, reason)
    base = public_base_url.rstrip("/")
    whisper_query = urlencode({"call_id": ctx.call_id, "summary": encode_summary(summary), "leg": ctx.stream_leg})
    whisper = f"{base}{WHISPER_PATH}?{whisper_query}"
    action = f"{base}{RESULT_PATH}?{urlencode({'call_id': ctx.call_id, 'to': number, 'leg': ctx.stream_leg})}"
    return HandoffPlan(number=number, summary=summary, whisper_url=whisper, action_url=action)
