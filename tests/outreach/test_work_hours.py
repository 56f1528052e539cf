"""Working hours in the property's time zone: what quotes are checked against and where
bookings land (services/common/work_hours.py, used by record_quote and outreach)."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.common.work_hours import QuietHours, WorkHours, as_utc, next_slot, quiet_until, within

LA = "America/Los_Angeles"
WEEKDAYS = WorkHours(time(8), time(17), frozenset(range(1, 6)))
TWO_HOURS = timedelta(hours=2)


def la(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(LA))


@pytest.mark.parametrize(("after", "expected"), [
    (la(2026, 12, 7, 9, 10), la(2026, 12, 7, 9, 30)),    # Monday morning: the next half hour
    (la(2026, 12, 7, 15, 30), la(2026, 12, 8, 8, 0)),    # too late to fit two hours: next morning
    (la(2026, 12, 4, 22, 0), la(2026, 12, 7, 8, 0)),     # Friday night: Monday 08:00 (no weekends)
    (la(2026, 12, 7, 5, 0), la(2026, 12, 7, 8, 0)),      # before opening: opening time
    (la(2027, 3, 13, 23, 0), la(2027, 3, 15, 8, 0)),     # across the spring DST change (Sunday off)
])
def test_next_slot_is_the_first_whole_visit_inside_working_hours(after, expected):
    slot = next_slot(WEEKDAYS, after, LA, TWO_HOURS)
    assert slot == expected.astimezone(UTC)
    assert within(WEEKDAYS, slot, LA, TWO_HOURS)


def test_within_reads_times_in_the_property_time_zone():
    assert within(WorkHours(), datetime(2026, 12, 7, 18, 0, tzinfo=UTC), LA)        # 10:00 in LA
    assert not within(WorkHours(), datetime(2026, 12, 7, 6, 0, tzinfo=UTC), LA)     # 22:00 the day before
    assert as_utc(datetime(2026, 12, 7, 10, 0), LA) == datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
    assert not within(WEEKDAYS, la(2026, 12, 6, 10, 0), LA)                         # a Sunday
    assert not within(WorkHours(), la(2026, 12, 7, 17, 0), LA, TWO_HOURS)           # would end at 19:00


# --- quiet hours (no outbound call in them, emergencies excepted) ----------------------------
LA_TZ = LA


def _la(day: int, hour: int, minute: int = 0) -> datetime:
    """A December 2026 local time at the properties (PST, UTC-8)."""
    return la(2026, 12, day, hour, minute)


@pytest.mark.parametrize(("now", "until"), [
    (_la(6, 2, 20), _la(6, 8)),     # the small hours: until 08:00 the same morning
    (_la(6, 21), _la(7, 8)),        # the start itself is quiet: until tomorrow 08:00
    (_la(6, 23, 59), _la(7, 8)),
    (_la(6, 7, 59), _la(6, 8)),
    (_la(6, 8), None),              # the end is not quiet
    (_la(6, 12), None),
    (_la(6, 20, 59), None),
])
def test_default_quiet_hours_wrap_midnight(now, until):
    assert quiet_until(QuietHours(), now.astimezone(UTC), LA_TZ) == (until.astimezone(UTC) if until else None)


def test_a_window_inside_one_day_and_none():
    lunch = QuietHours.parse("12:00-13:30")
    assert quiet_until(lunch, _la(6, 12, 10), LA_TZ) == _la(6, 13, 30).astimezone(UTC)
    assert quiet_until(lunch, _la(6, 13, 30), LA_TZ) is None and quiet_until(lunch, _la(6, 11), LA_TZ) is None
    assert QuietHours.parse("off").off and quiet_until(QuietHours.parse(""), _la(6, 2), LA_TZ) is None


def test_a_time_without_offset_is_the_property_s_local_time():
    assert quiet_until(QuietHours(), datetime(2026, 12, 6, 22, 0), LA_TZ) == _la(7, 8).astimezone(UTC)


def test_a_property_window_wins_over_the_default():
    default = QuietHours.parse("21:00-08:00")
    assert QuietHours.of(None, None, default) is default
    assert QuietHours.of("22:30:00", "07:00:00", default) == QuietHours.parse("22:30-07:00")


@pytest.mark.parametrize("bad", ["9pm-8am", "21:00", "21:00-25:00", "21:00 to 08:00"])
def test_a_malformed_window_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="quiet hours must look like 21:00-08:00"):
        QuietHours.parse(bad)
