"""Fixline's shared contracts: every NATS message as a frozen msgspec Struct.

The import name is ``fixline_proto`` because ``proto`` belongs to proto-plus
(pulled in by google-api-core).
"""

from . import commands, events, subjects, tools
from .base import CONTRACT_VERSION, Command, Contract, Event, ToolRequest, ToolResult
from .codec import decode, encode

__all__ = [
    "CONTRACT_VERSION", "Command", "Contract", "Event", "ToolRequest", "ToolResult",
    "commands", "decode", "encode", "events", "subjects", "tools",
]
