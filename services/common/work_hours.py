"""A vendor's working hours, local to the property it serves: is a time inside them, and
the first slot inside them from a given moment (quotes are checked, bookings land there)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SLOT = timedelta(minutes=30)  # bookings start on the hour or the half hour


def _clock(value: time | str) -> time:
    return value if isinstance(value, time) else time.fromisoformat(value)


@dataclass(frozen=True)
class WorkHours:
    start: time = time(8)
    end: time = time(18)
    days: frozenset[int] = frozenset(range(1, 8))  # ISO weekdays, 1 = Monday

    @classmethod
    def of(cls, start: time | str, end: time | str, days: list[int] | None = None) -> "WorkHours":
        return cls(_clock(start), _clock(end), frozenset(days) if days else frozenset(range(1, 8)))

    def describe(self, timezone: str) -> str:
        days = "every day" if len(self.days) == 7 else ", ".join(DAY_NAMES[d - 1] for d in sorted(self.days))
        return f"{self.start:%H:%M}-{self.end:%H:%M} {days} ({timezone} time)"


def zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def as_utc(when: datetime, timezone: str) -> datetime:
    """A time without an offset is read in the property's time zone (what the caller meant)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone(timezone))
    return when.astimezone(UTC)


def within(hours: WorkHours, when: datetime, timezone: str, duration: timedelta = timedelta(0)) -> bool:
    """``when`` (and the visit of ``duration`` after it) falls inside one working day."""
    local = as_utc(when, timezone).astimezone(zone(timezone))
    if local.isoweekday() not in hours.days:
        return False
    day_start = datetime.combine(local.date(), hours.start, tzinfo=local.tzinfo)
    day_end = datetime.combine(local.date(), hours.end, tzinfo=local.tzinfo)
    return day_start <= local and local + duration <= day_end


def _round_up(local: datetime) -> datetime:
    base = local.replace(minute=0, second=0, microsecond=0)
    while base < local:
        base += SLOT
    return base


def next_slot(hours: WorkHours, after: datetime, timezone: str, duration: timedelta) -> datetime:
    """The first half-hour slot at or after ``after`` where the whole visit fits in working hours."""
    tz = zone(timezone)
    local = _round_up(as_utc(after, timezone).astimezone(tz))
    for _ in range(14):  # two weeks of days is more than any week of working days needs
        day_start = datetime.combine(local.date(), hours.start, tzinfo=tz)
        day_end = datetime.combine(local.date(), hours.end, tzinfo=tz)
        candidate = max(local, day_start)
        if local.isoweekday() in hours.days and candidate + duration <= day_end:
            return candidate.astimezone(UTC)
        local = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=tz)
    raise ValueError(f"no {duration} slot within {hours.describe(timezone)}")


@dataclass(frozen=True)
class QuietHours:
    """No outbound call is placed from ``start`` to ``end``, local to the property (emergencies
    excepted). The window may wrap midnight (21:00-08:00); ``start == end`` means none."""

    start: time = time(21)
    end: time = time(8)

    @classmethod
    def parse(cls, text: str) -> "QuietHours":
        """``"21:00-08:00"``; ``""`` or ``"off"`` = no quiet hours. A clear error otherwise."""
        if text.strip().lower() in ("", "off", "none"):
            return cls(time(0), time(0))
        start, sep, end = text.partition("-")
        try:
            return cls(_clock(start.strip()), _clock(end.strip()))
        except ValueError:
            pass
        raise ValueError(f"quiet hours must look like 21:00-08:00 (or 'off'), not {text!r}")

    @classmethod
    def of(cls, start: time | str | None, end: time | str | None, default: "QuietHours") -> "QuietHours":
        """A property's own window, or ``default`` when it has none."""
        if start is None or end is None:
            return default
        return cls(_clock(start), _clock(end))

    @property
    def off(self) -> bool:
        return self.start == self.end


def quiet_until(quiet: QuietHours, now: datetime, timezone: str) -> datetime | None:
    """When the quiet hours around ``now`` end (UTC), or None if ``now`` is not in them: the
    one rule for every outbound call (vendor, landlord, guest call-back)."""
    if quiet.off:
        return None
    tz = zone(timezone)
    local = as_utc(now, timezone).astimezone(tz)
    clock = local.timetz().replace(tzinfo=None)
    wraps = quiet.start > quiet.end
    inside = (clock >= quiet.start or clock < quiet.end) if wraps else quiet.start <= clock < quiet.end
    if not inside:
        return None
    end_day = local.date() + timedelta(days=1) if wraps and clock >= quiet.start else local.date()
    return datetime.combine(end_day, quiet.end, tzinfo=tz).astimezone(UTC)
