"""Pure in-memory Calendar v3 model: events and free/busy, with Google's validation rules."""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")
UTC = dt.timezone.utc


class CalendarError(Exception):
    def __init__(self, status: int, reason: str, message: str):
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


def not_found() -> CalendarError:
    return CalendarError(404, "notFound", "Not Found")


def rfc3339(when: dt.datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as err:
        raise CalendarError(400, "invalid", f"Invalid value for: {value}") from err
    if parsed.tzinfo is None:
        raise CalendarError(400, "invalid", "Bad Request")
    return parsed


def event_time(when: dict[str, Any] | None, field_name: str) -> dt.datetime:
    if not when:
        raise CalendarError(400, "required", f"Missing {field_name} time.")
    if "dateTime" in when:
        value = when["dateTime"]
        if "T" in value and not re.search(r"(Z|[+-]\d\d:\d\d)$", value) and when.get("timeZone"):
            return dt.datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(when["timeZone"]))
        return parse_time(value)
    if "date" in when:
        return dt.datetime.fromisoformat(when["date"]).replace(tzinfo=UTC)
    raise CalendarError(400, "required", f"Missing {field_name} time.")


@dataclass
class Calendar:
    id: str
    events: dict[str, dict] = field(default_factory=dict)


class CalendarStore:
    def __init__(self, owner_email: str = "emulator@fixline.test"):
        self.calendars: dict[str, Calendar] = {}
        self.owner_email = owner_email

    def add_calendar(self, calendar_id: str) -> Calendar:
        return self.calendars.setdefault(calendar_id, Calendar(calendar_id))

    def calendar(self, calendar_id: str) -> Calendar:
        cal = self.calendars.get(calendar_id)
        if cal is None:
            raise not_found()
        return cal

    # ------------------------------------------------------------ events

    def insert(self, calendar_id: str, body: dict[str, Any], creator: str) -> dict:
        cal = self.calendar(calendar_id)
        event_id = body.get("id") or secrets.token_hex(13)
        if not EVENT_ID.match(event_id):
            raise CalendarError(400, "invalid", "Invalid resource id value.")
        if event_id in cal.events:
            raise CalendarError(409, "duplicate", "The requested identifier already exists.")
        if body.get("attendees") and creator.endswith(".iam.gserviceaccount.com"):
            raise CalendarError(403, "forbiddenForServiceAccounts", "Service accounts cannot invite "
                                "attendees without Domain-Wide Delegation of Authority.")
        self._check_times(body)
        now = rfc3339(dt.datetime.now(UTC))
        event = {**copy.deepcopy(body), "kind": "calendar#event", "id": event_id, "status": "confirmed",
                 "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
                 "created": now, "updated": now, "creator": {"email": creator},
                 "organizer": {"email": calendar_id, "self": True}, "iCalUID": f"{event_id}@google.com",
                 "sequence": 0, "eventType": body.get("eventType", "default")}
        event.setdefault("reminders", {"useDefault": True})
        event["etag"] = self._etag(event)
        cal.events[event_id] = event
        return copy.deepcopy(event)

    @staticmethod
    def _check_times(body: dict[str, Any]) -> None:
        start, end = event_time(body.get("start"), "start"), event_time(body.get("end"), "end")
        if end < start:
            raise CalendarError(400, "timeRangeEmpty", "The specified time range is empty.")

    @staticmethod
    def _etag(event: dict) -> str:
        digest = hashlib.sha1(repr(sorted(event.items())).encode()).hexdigest()[:16]
        return f'"{int(digest, 16) % 10**16}"'

    def get(self, calendar_id: str, event_id: str) -> dict:
        event = self.calendar(calendar_id).events.get(event_id)
        if event is None:
            raise not_found()
        return copy.deepcopy(event)

    def patch(self, calendar_id: str, event_id: str, body: dict[str, Any], replace: bool = False) -> dict:
        event = self.calendar(calendar_id).events.get(event_id)
        if event is None or event["status"] == "cancelled":
            raise not_found()
        fixed = {k: event[k] for k in ("kind", "id", "htmlLink", "created", "creator", "organizer",
                                       "iCalUID", "eventType")}
        merged = {**({} if replace else event), **copy.deepcopy(body), **fixed}
        self._check_times(merged)
        merged.update(status=body.get("status", "confirmed"), sequence=event["sequence"] + 1,
                      updated=rfc3339(dt.datetime.now(UTC)))
        merged["etag"] = self._etag(merged)
        self.calendar(calendar_id).events[event_id] = merged
        return copy.deepcopy(merged)

    def delete(self, calendar_id: str, event_id: str) -> None:
        """Deleted events keep their id (status ``cancelled``); deleting again is 410."""
        event = self.calendar(calendar_id).events.get(event_id)
        if event is None:
            raise not_found()
        if event["status"] == "cancelled":
            raise CalendarError(410, "deleted", "Resource has been deleted")
        event.update(status="cancelled", updated=rfc3339(dt.datetime.now(UTC)))

    # ------------------------------------------------------------ queries

    def list(self, calendar_id: str, q: dict[str, Any]) -> list[dict]:
        """Events matching timeMin/timeMax (exclusive; on end/start), privateExtendedProperty,
        showDeleted, q; ordered by startTime when asked (needs singleEvents=true)."""
        if q.get("orderBy") == "startTime" and str(q.get("singleEvents")).lower() != "true":
            raise CalendarError(400, "invalid", "The requested ordering is not available for the particular query.")
        items = [copy.deepcopy(e) for e in self.calendar(calendar_id).events.values() if self._match(e, q)]
        if q.get("orderBy") == "startTime":
            items.sort(key=lambda e: event_time(e["start"], "start"))
        elif q.get("orderBy") == "updated":
            items.sort(key=lambda e: e["updated"])
        return items

    @staticmethod
    def _match(event: dict, q: dict[str, Any]) -> bool:
        if event["status"] == "cancelled" and str(q.get("showDeleted")).lower() != "true":
            return False
        if q.get("timeMin") and event_time(event["end"], "end") <= parse_time(q["timeMin"]):
            return False
        if q.get("timeMax") and event_time(event["start"], "start") >= parse_time(q["timeMax"]):
            return False
        private = (event.get("extendedProperties") or {}).get("private") or {}
        for prop in q.get("privateExtendedProperty", []):
            key, _, value = prop.partition("=")
            if private.get(key) != value:
                return False
        text = q.get("q")
        return not text or text.lower() in (event.get("summary", "") + event.get("description", "")).lower()

    def free_busy(self, body: dict[str, Any]) -> dict:
        tmin, tmax = parse_time(body.get("timeMin", "")), parse_time(body.get("timeMax", ""))
        tz = ZoneInfo(body["timeZone"]) if body.get("timeZone") else UTC
        calendars: dict[str, Any] = {}
        for item in body.get("items", []):
            cal = self.calendars.get(item.get("id"))
            if cal is None:
                calendars[item.get("id")] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
                continue
            busy = []
            for e in sorted(cal.events.values(), key=lambda e: event_time(e["start"], "start")):
                start, end = event_time(e["start"], "start"), event_time(e["end"], "end")
                if e["status"] == "cancelled" or e.get("transparency") == "transparent":
                    continue
                if start < tmax and end > tmin:
                    busy.append({"start": _fmt(max(start, tmin), tz), "end": _fmt(min(end, tmax), tz)})
            calendars[item.get("id")] = {"busy": busy}
        return {"kind": "calendar#freeBusy", "timeMin": _fmt(tmin, UTC), "timeMax": _fmt(tmax, UTC),
                "calendars": calendars}


def _fmt(when: dt.datetime, tz: dt.tzinfo) -> str:
    text = when.astimezone(tz).isoformat(timespec="seconds")
    return text.replace("+00:00", "Z")
