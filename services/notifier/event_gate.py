"""The notifier's contract check on every stream message, before state, snapshot or client.

A message is admitted only if it decodes as one of the ``fixline_proto`` events (the
tagged union, every field its declared type) *and* it sits on its own subject:
``<prefix>.<event.property_id>.<event.type>``. The subject is what scoped viewers, replay
filters and the bus permissions go by; a payload claiming another property than its
subject (or another type) is a forgery or a bug either way, and is dropped.
"""

from __future__ import annotations

import msgspec

from fixline_proto.base import Event
from fixline_proto.codec import EVENT_DECODER


class RejectedEvent(ValueError):
    """Why a stream message is not shown; ``reason`` is a metric label (bounded set)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def admit(subject: str, data: bytes, subject_prefix: str) -> Event:
    """The decoded event, or ``RejectedEvent`` (reason ``malformed``, ``invalid`` or
    ``subject_mismatch``)."""
    try:
        event = EVENT_DECODER.decode(data)
    except msgspec.ValidationError as exc:
        raise RejectedEvent("invalid", f"not a valid event: {exc}") from None
    except msgspec.DecodeError as exc:
        raise RejectedEvent("malformed", f"not JSON: {exc}") from None
    head = subject_prefix + "."
    rest = subject[len(head):] if subject.startswith(head) else ""
    property_id, _, event_type = rest.partition(".")   # a property id with a dot never matches
    if (property_id, event_type) != (event.property_id, event.__struct_config__.tag):
        raise RejectedEvent("subject_mismatch",
                            "the subject's property or type is not the payload's")
    return event
