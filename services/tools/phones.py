"""Phone numbers as stored: E.164 (``+15550201001``)."""

from __future__ import annotations

import re

_NOT_DIGIT = re.compile(r"[^0-9]")


def normalise_phone(raw: str) -> str:
    """``+1 (555) 020-1001`` -> ``+15550201001``; bare 10/11-digit numbers are read as NANP."""
    digits = _NOT_DIGIT.sub("", raw)
    if raw.strip().startswith("+"):
        return f"+{digits}"
    if len(digits) == 10:
        return f"+1{digits}"
    if len(digits) == 11 and digits.startswith("1"):
        return f"+{digits}"
    return digits
