"""Base classes shared by every contract on the bus.

Rules (msgspec schema evolution): new fields get defaults, field types never change,
unknown fields are ignored by old decoders — so no ``forbid_unknown_fields``.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import msgspec

CONTRACT_VERSION = 1


def dotted(class_name: str) -> str:
    """``IncidentCreated`` -> ``incident.created`` (the wire tag)."""
    return ".".join(part.lower() for part in re.findall(r"[A-Z][a-z0-9]*", class_name))


def snake(class_name: str) -> str:
    """``CreateIncident`` -> ``create_incident`` (tool names as Gemini sees them)."""
    return "_".join(part.lower() for part in re.findall(r"[A-Z][a-z0-9]*", class_name))


def tag_of(contract: msgspec.Struct | type[msgspec.Struct]) -> str:
    """The wire tag of a contract or its class (``incident.created``, ``create_incident``)."""
    tag = contract.__struct_config__.tag
    if not isinstance(tag, str):
        raise TypeError(f"{contract!r} is not a tagged contract")
    return tag


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class Contract(msgspec.Struct, frozen=True, kw_only=True):
    """Any message on the bus."""


class Event(Contract, frozen=True, tag_field="type", tag=dotted):
    """A domain fact. ``id`` is the idempotency key; ``property_id`` scopes who may see it."""

    property_id: str
    id: str = msgspec.field(default_factory=new_id)
    occurred_at: datetime = msgspec.field(default_factory=utcnow)
    v: int = CONTRACT_VERSION


class ToolRequest(Contract, frozen=True, tag_field="tool", tag=snake):
    """Arguments of one tool call, as the tools service receives them."""


class ToolResult(Contract, frozen=True, tag_field="result", tag=snake):
    """A successful tool answer."""


class Command(Contract, frozen=True, tag_field="command", tag=dotted):
    """An instruction to one service (dial, hang up, transfer...)."""
