"""The dashboard's history search parameters, checked before any query runs: a bad value is
a clear 400, and nothing is read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from typing import get_args

from multidict import MultiMapping

from fixline_proto.tools import IncidentStatusName

INCIDENT_STATUSES = frozenset(get_args(IncidentStatusName))
CALL_STATUSES = frozenset({"initiated", "queued", "ringing", "in-progress", "completed", "busy", "failed",
                           "no-answer", "canceled"})
KINDS = ("incidents", "calls")
MAX_TEXT = 200
MAX_LIMIT = 100
MAX_ID = 128


class BadQuery(ValueError):
    """A search parameter that cannot be used (the message says which and why)."""


@dataclass(frozen=True)
class SearchQuery:
    kind: str = "incidents"
    property_id: str | None = None
    status: str | None = None
    text: str | None = None
    since: datetime | None = None       # inclusive
    until: datetime | None = None       # exclusive
    limit: int = 50
    offset: int = 0

    @property
    def like(self) -> str | None:
        """``text`` as an ILIKE pattern matching it literally (``%``, ``_`` and ``\\`` escaped)."""
        if not self.text:
            return None
        escaped = self.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"%{escaped}%"


def _one(params: MultiMapping[str], name: str) -> str | None:
    values = params.getall(name, [])
    if len(values) > 1:
        raise BadQuery(f"{name} may be given once")
    value = values[0].strip() if values else ""
    return value or None


def _when(raw: str | None, name: str, end: bool) -> datetime | None:
    """``YYYY-MM-DD`` (a whole day; ``to`` includes it) or an ISO 8601 time with its offset."""
    if raw is None:
        return None
    try:
        if len(raw) == 10:
            day = datetime.combine(date.fromisoformat(raw), time(), tzinfo=UTC)
            return day + timedelta(days=1) if end else day
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise BadQuery(f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 time, got {raw[:40]!r}") from None
    if moment.tzinfo is None:
        raise BadQuery(f"{name} needs a time-zone offset (e.g. 2026-12-06T10:00:00Z)")
    return moment


def _int(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadQuery(f"{name} must be an integer from {low} to {high}")
    return int(raw)


def parse(params: MultiMapping[str]) -> SearchQuery:
    kind = _one(params, "kind") or "incidents"
    if kind not in KINDS:
        raise BadQuery(f"kind must be one of {', '.join(KINDS)}")
    status = _one(params, "status")
    allowed = INCIDENT_STATUSES if kind == "incidents" else CALL_STATUSES
    if status is not None and status not in allowed:
        raise BadQuery(f"status of {kind} must be one of {', '.join(sorted(allowed))}")
    text = _one(params, "q")
    if text is not None and (len(text) > MAX_TEXT or any(ord(c) < 32 for c in text)):
        raise BadQuery(f"q must be at most {MAX_TEXT} printable characters")
    property_id = _one(params, "property")
    if property_id is not None and len(property_id) > MAX_ID:
        raise BadQuery("property is too long")
    since, until = _when(_one(params, "from"), "from", False), _when(_one(params, "to"), "to", True)
    if since and until and since >= until:
        raise BadQuery("from must be before to")
    return SearchQuery(kind=kind, property_id=property_id, status=status, text=text, since=since, until=until,
                       limit=_int(_one(params, "limit"), "limit", 50, 1, MAX_LIMIT),
                       offset=_int(_one(params, "offset"), "offset", 0, 0, 10_000))
