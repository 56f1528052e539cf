"""What the bridge knows about one call: who is on the line, at which property, about which
incident, why the call is happening.

Built from the verified media token alone (``context_from_claims``): nothing else the media
stream sends reaches the prompt or the tools. The call owns the one current context
(``CallContextOwner``). It changes once, when a tool opens or finds the call's incident
(``with_incident``); the tools, a rebuilt Gemini setup and the call's outcome event all read it
from the call afterwards, so none of them carries a stale copy.

Not the token's ``MediaClaims`` itself: those are the signed contract between ingress and the
bridge (expiry, nonce, both numbers as Twilio saw them); this is the bridge's view of the call,
with the stream it arrived on and what it learns during the call.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Protocol

from services.common.media_token import MediaClaims

CALL_TYPES = ("guest", "vendor", "landlord")


@dataclass(frozen=True)
class CallContext:
    call_id: str
    call_type: str
    property_id: str
    incident_id: str = ""
    caller_phone: str = ""          # the other party's number, as Twilio verified it
    vendor_id: str = ""
    landlord_id: str = ""
    property_name: str = ""
    property_address: str = ""
    property_timezone: str = ""
    callback_number: str = ""
    briefing: str = ""
    direction: str = ""
    answered_by: str = ""
    call_sid: str = ""
    stream_sid: str = ""
    handoff_number: str = ""
    stream_leg: int = 0

    @property
    def stream_key(self) -> str:
        """This stream of the call: the call id, or ``<call id>#<leg>`` for a return to the agent
        after an unanswered hand-off (its stream claim and event ids are its own)."""
        return self.call_id if not self.stream_leg else f"{self.call_id}#{self.stream_leg}"

    @property
    def display_name(self) -> str:
        return self.property_name or "the property"

    def with_incident(self, incident_id: str) -> CallContext:
        """The call's incident, once known. A call handles one incident: the first one stays."""
        if self.incident_id or not incident_id:
            return self
        return dataclasses.replace(self, incident_id=incident_id)


class CallContextOwner(Protocol):
    """The call: the one holder of its current context."""

    @property
    def ctx(self) -> CallContext: ...
    def adopt_incident(self, incident_id: str) -> None: ...


def context_from_claims(claims: MediaClaims, stream_sid: str) -> CallContext:
    return CallContext(
        call_id=claims.call_id, call_type=claims.call_type, property_id=claims.property_id,
        incident_id=claims.incident_id, caller_phone=claims.other_party_number, vendor_id=claims.vendor_id,
        landlord_id=claims.landlord_id, property_name=claims.property_name,
        property_address=claims.property_address, property_timezone=claims.property_timezone,
        callback_number=claims.callback_number, briefing=claims.briefing, direction=claims.direction,
        answered_by=claims.answered_by, call_sid=claims.call_sid, stream_sid=stream_sid,
        handoff_number=claims.handoff_number, stream_leg=max(0, claims.stream_leg))
