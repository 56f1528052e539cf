"""Which numbers Fixline may dial with a property's caller ID.

A number must be E.164, start with one of ``DIAL_ALLOWED_PREFIXES`` (country codes the
business operates in) and with none of ``DIAL_BLOCKED_PREFIXES`` (premium-rate and
fraud-prone ranges: a toll-fraud dial costs money even if nobody answers). ``+1`` numbers
must have exactly ten digits. Pure; the dialer and the settings check use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
PREFIX = re.compile(r"\+[0-9]{1,8}")
NANP = re.compile(r"\+1[0-9]{10}")


def parse_prefixes(name: str, raw: str) -> tuple[str, ...]:
    prefixes = tuple(p.strip().replace(" ", "") for p in raw.split(",") if p.strip())
    bad = [p for p in prefixes if not PREFIX.fullmatch(p)]
    if bad:
        raise ValueError(f"{name} entries must look like +44 or +1900, not {bad[0]!r}")
    return prefixes


@dataclass(frozen=True)
class DialPolicy:
    allowed: tuple[str, ...]
    blocked: tuple[str, ...]

    @classmethod
    def from_settings(cls, allowed: str, blocked: str) -> "DialPolicy":
        policy = cls(parse_prefixes("DIAL_ALLOWED_PREFIXES", allowed), parse_prefixes("DIAL_BLOCKED_PREFIXES", blocked))
        if not policy.allowed:
            raise ValueError("DIAL_ALLOWED_PREFIXES is empty: no number could ever be dialled")
        return policy

    def refusal(self, number: str) -> str | None:
        """Why ``number`` may not be dialled (never echoes it), or None."""
        if not E164.fullmatch(number):
            return "not an E.164 number"
        if not number.startswith(self.allowed):
            return "outside the allowed country prefixes"
        blocked = next((p for p in self.blocked if number.startswith(p)), None)
        if blocked is not None:
            return f"in the blocked (premium-rate) range {blocked}"
        if number.startswith("+1") and not NANP.fullmatch(number):
            return "not a ten-digit +1 number"
        return None
