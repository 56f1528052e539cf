"""Long values through Twilio ``<Parameter>``s, which must each stay under 500 characters
(name + value): ingress splits a value into ``name``, ``name_2``, ``name_3`` …, and the
bridge joins them back."""

from __future__ import annotations

from collections.abc import Mapping

PARAMETER_LIMIT = 499   # name + value, per Twilio
MAX_PARTS = 8


def split_parameter(name: str, value: str) -> list[tuple[str, str]]:
    """``(name, part)`` pairs, each within Twilio's limit; text past MAX_PARTS is cut."""
    parts: list[tuple[str, str]] = []
    rest = value
    while rest and len(parts) < MAX_PARTS:
        part_name = name if not parts else f"{name}_{len(parts) + 1}"
        room = PARAMETER_LIMIT - len(part_name)
        parts.append((part_name, rest[:room]))
        rest = rest[room:]
    return parts


def join_parameter(params: Mapping[str, str], name: str) -> str:
    """The value ``split_parameter`` spread over ``name``, ``name_2`` …"""
    parts = [params.get(name, "")]
    for n in range(2, MAX_PARTS + 1):
        part = params.get(f"{name}_{n}")
        if not part:
            break
        parts.append(part)
    return "".join(parts)
