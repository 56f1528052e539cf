"""Working hours in the property's time zone: what quotes are checked against and where
bookings land (services/common/work_hours.py, used by record_quote and outreach)."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.common.work_hours import WorkHours, as_utc, next_slot, within

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
