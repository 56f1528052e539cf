"""Booking references: the second factor a vendor gives for the access code.

Eight random digits, read out as ``4812-7730``: digits survive speech recognition far
better than letters, and with MAX_WRONG_REFERENCES guesses per call a random guess
succeeds with probability 3e-8 per call."""

from __future__ import annotations

import hmac
import re
import secrets

DIGITS = 8
_NOT_DIGIT = re.compile(r"[^0-9]")


def new_reference() -> str:
    return f"{secrets.randbelow(10 ** DIGITS):0{DIGITS}d}"


def spoken(reference: str) -> str:
    """``48127730`` -> ``4812-7730`` (how the vendor is told it)."""
    return f"{reference[:4]}-{reference[4:]}" if len(reference) == DIGITS else reference


def normalise(said: str) -> str:
    return _NOT_DIGIT.sub("", said)


def matches(said: str, reference: str | None) -> bool:
    if not reference:
        return False  # bookings made before references existed never release a code
    return hmac.compare_digest(normalise(said).encode(), reference.encode())
