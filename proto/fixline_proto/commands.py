"""Commands between services: outbound dialing, call control, bridge capacity reports."""

from __future__ import annotations

from typing import Literal

import msgspec

from .base import Command, Contract
from .events import CallType


class DialCall(Command, frozen=True, kw_only=True):
    """Ask for an outbound call; ``call_id`` doubles as the idempotency key."""

    call_id: str
    call_type: CallType
    property_id: str
    to_number: str
    incident_id: str | None = None
    vendor_id: str | None = None
    briefing: str = ""


class HangUp(Command, frozen=True, kw_only=True):
    call_id: str
    reason: str = "completed"
    after_playback: bool = True


class Transfer(Command, frozen=True, kw_only=True):
    call_id: str
    to_number: str
    reason: str = ""


class Say(Command, frozen=True, kw_only=True):
    """Inject text for the agent to speak (e.g. an operator whisper)."""

    call_id: str
    text: str


AnyCallControl = HangUp | Transfer | Say


class CommandAck(Contract, frozen=True, kw_only=True):
    ok: bool
    error: str = ""


class BridgeCapacity(Contract, frozen=True, kw_only=True):
    """Each bridge publishes this every few seconds; ingress admits calls from it."""

    bridge_id: str
    active_calls: int
    max_calls: int
    draining: bool = False
    ts: float = msgspec.field(default=0.0)


HealthState = Literal["ready", "not_ready", "draining"]


class ServiceHeartbeat(Contract, frozen=True, kw_only=True):
    service: str
    instance: str
    state: HealthState
    ts: float = 0.0
