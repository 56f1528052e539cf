"""schedule_repair end to end against the Calendar emulator: the real googleapiclient with
service-account credentials (token from the emulator's token endpoint), over NATS, with the
booking row, the RepairScheduled event in JetStream, the incident transition, retries and
409s, Calendar failures, and the vendor code released to the vendor it booked (with the
booking reference it returned). Bookings go through the workflow subject, after the owner's
approval recorded on a landlord call, as outreach does it."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import nats
import pytest
from nats.js.api import DeliverPolicy

from emulators.calendar import CalendarEmulator, make_service_account, write_service_account
from fixline_proto.events import RepairScheduled, VendorCodeRefused, VendorCodeReleased
from fixline_proto.tools import RepairBooked, ToolError, VendorCode
from services.tools.app import ToolsService
from services.tools.calendar import RepairCalendar, event_id_for
from tests.support.services import running, settings_for

from .call_rows import insert_call
from .conftest import ToolClient, in_minutes, row_counts

PACIFIC = ZoneInfo("America/Los_Angeles")
DESCRIPTION = "Water dripping from the ceiling under the bathroom"


@pytest.fixture(scope="module")
async def booking_service(database_url: str, nats_url: str, calendar: CalendarEmulator) -> AsyncIterator[ToolsService]:
    """The tools service as deployed: GOOGLE_APPLICATION_CREDENTIALS = the emulator's
    service-account file, GOOGLE_CALENDAR_API_ENDPOINT = the emulator."""
    service = ToolsService()
    settings = settings_for("tools", database_url=database_url, nats_url=nats_url, outbox_poll_interval_s=0.1,
                            kb_embed_on_start=False,
                            google_application_credentials=calendar.service_account_file,
                            google_calendar_api_endpoint=calendar.api_endpoint)
    async with running(service, settings):
        yield service


@pytest.fixture
async def tools(booking_service: ToolsService, nc: nats.aio.client.Client, pool) -> ToolClient:
    return ToolClient(nc, pool)


@pytest.fixture
def swap_calendar(booking_service: ToolsService):
    """Point the running service at another calendar configuration for one test."""
    ctx = booking_service.server.ctx
    original = ctx.calendar

    def swap(**overrides: object) -> None:
        import dataclasses
        ctx.calendar = RepairCalendar(dataclasses.replace(ctx.settings, **overrides))

    yield swap
    ctx.calendar = original


# ------------------------------------------------------------------ helpers

APPROVED = {"plumbing": "v-plumb-2", "hvac": "v-hvac-1", "electrical": "v-elec-1"}


async def _incident(tools: ToolClient, property_id: str = "p1", category: str = "plumbing") -> str:
    """An incident a guest reported, with the owner's approval of the category's vendor."""
    incident_id, _ = await tools.open_incident(property_id=property_id, category=category, description=DESCRIPTION)
    await tools.approve(incident_id, APPROVED[category], property_id=property_id)
    return incident_id


def _args(incident_id: str, vendor_id: str, start: datetime, property_id: str = "p1", **extra) -> dict:
    return {"incident_id": incident_id, "vendor_id": vendor_id, "property_id": property_id,
            "start": start.isoformat(), **extra}


async def _incident_state(pool, incident_id: str) -> tuple[str, list[tuple], list, list[str]]:
    async with pool.acquire() as conn:
        status = await conn.fetchval("SELECT status FROM incidents WHERE id = $1", incident_id)
        history = [tuple(r) for r in await conn.fetch(
            "SELECT from_status, to_status FROM incident_status_history WHERE incident_id = $1 ORDER BY id",
            incident_id)]
        bookings = await conn.fetch("SELECT * FROM repair_bookings WHERE incident_id = $1", incident_id)
        events = [r["subject"] for r in await conn.fetch(
            "SELECT subject FROM outbox WHERE convert_from(payload, 'UTF8') LIKE $1 ORDER BY id",
            f'%"incident_id":"{incident_id}"%')]
    return status, history, bookings, events


def _events_for(cal: CalendarEmulator, incident_id: str) -> list[dict]:
    return [e for e in cal.store.calendars["primary"].events.values()
            if e.get("extendedProperties", {}).get("private", {}).get("incident_id") == incident_id]


async def _api_get(cal: CalendarEmulator, event_id: str) -> dict:
    service = cal.service()  # its own service account: a second, independent API client
    return await asyncio.to_thread(service.events().get(calendarId="primary", eventId=event_id).execute)


async def _jetstream(nc, subject: str):
    """An ordered consumer on the events stream, from now on."""
    return await nc.jetstream().subscribe(subject, ordered_consumer=True, deliver_policy=DeliverPolicy.NEW)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------ 1. the happy path

async def test_booking_creates_the_event_row_event_and_transition(tools, pool, nc, calendar):
    incident_id = await _incident(tools)
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    stream = await _jetstream(nc, "events.p1.repair.scheduled")
    account = json.loads(await asyncio.to_thread(Path(calendar.service_account_file).read_text))["client_email"]

    result = await tools.workflow("schedule_repair", **_args(incident_id, "v-plumb-2", start, duration_minutes=90))

    assert isinstance(result, RepairBooked), result
    assert not result.already_booked
    assert result.start == start and result.end == start + timedelta(minutes=90)
    assert result.calendar_event_id == event_id_for(incident_id, "v-plumb-2", start)
    # The service account from GOOGLE_APPLICATION_CREDENTIALS got its token from the file's token_uri.
    assert account in calendar.tokens.values()
    assert any(r["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer" for r in calendar.token_requests)

    stored = _events_for(calendar, incident_id)
    assert [e["id"] for e in stored] == [result.calendar_event_id]
    for event in (stored[0], await _api_get(calendar, result.calendar_event_id)):
        assert event["status"] == "confirmed"
        assert event["summary"] == "Repair visit - plumbing - Seaside Cottage"
        assert DESCRIPTION in event["description"]
        assert "Bay Rooter & Drain (+15550201002)" in event["description"] and incident_id in event["description"]
        assert event["location"] == "12 Gull Lane"
        assert "attendees" not in event  # a service account cannot invite without domain-wide delegation
        assert datetime.fromisoformat(event["start"]["dateTime"]) == start
        assert datetime.fromisoformat(event["end"]["dateTime"]) == start + timedelta(minutes=90)
        assert event["start"]["timeZone"] == event["end"]["timeZone"] == "America/Los_Angeles"
        assert event["extendedProperties"]["private"] == {"incident_id": incident_id, "vendor_id": "v-plumb-2",
                                                          "property_id": "p1"}
        assert event["creator"]["email"] == account

    status, history, bookings, events = await _incident_state(pool, incident_id)
    assert status == "scheduled"
    assert history == [(None, "open"), ("open", "scheduled")]
    assert [(b["id"], b["vendor_id"], b["property_id"], b["calendar_event_id"], b["starts_at"], b["ends_at"])
            for b in bookings] == [(result.booking_id, "v-plumb-2", "p1", result.calendar_event_id, result.start,
                                    result.end)]
    assert events == ["events.p1.incident.created", "events.p1.decision.made", "events.p1.repair.scheduled",
                      "events.p1.incident.updated"]
    assert len(result.booking_reference) == 9 and result.booking_reference[4] == "-"  # 4812-7730

    msg = await stream.next_msg(timeout=5)
    published = msgspec.json.decode(msg.data, type=RepairScheduled)
    assert msg.headers["Nats-Msg-Id"] == published.id  # the event id: unique across databases
    assert (published.incident_id, published.booking_id, published.vendor_id, published.calendar_event_id,
            published.start, published.end) == (incident_id, result.booking_id, "v-plumb-2",
                                                result.calendar_event_id, result.start, result.end)
    await stream.unsubscribe()


async def test_a_time_without_offset_is_booked_in_the_property_time_zone(tools, calendar):
    incident_id = await _incident(tools, category="hvac")
    local = (datetime.now(PACIFIC) + timedelta(days=3)).replace(tzinfo=None, microsecond=0)
    result = await tools.workflow("schedule_repair", incident_id=incident_id, vendor_id="v-hvac-1", property_id="p1",
                              start=local.isoformat())
    assert isinstance(result, RepairBooked), result
    assert result.start == local.replace(tzinfo=PACIFIC)
    event = await _api_get(calendar, result.calendar_event_id)
    assert datetime.fromisoformat(event["start"]["dateTime"]) == result.start


async def test_a_second_booking_of_a_scheduled_incident_writes_no_transition(tools, pool):
    incident_id = await _incident(tools, category="electrical")
    first = await tools.workflow("schedule_repair", **_args(incident_id, "v-elec-1", in_minutes(3 * 24 * 60)))
    second = await tools.workflow("schedule_repair", **_args(incident_id, "v-elec-1", in_minutes(4 * 24 * 60)))
    assert isinstance(first, RepairBooked) and isinstance(second, RepairBooked)
    assert not second.already_booked and second.calendar_event_id != first.calendar_event_id
    status, history, bookings, events = await _incident_state(pool, incident_id)
    assert status == "scheduled" and history == [(None, "open"), ("open", "scheduled")]
    assert len(bookings) == 2
    assert events.count("events.p1.repair.scheduled") == 2 and events.count("events.p1.incident.updated") == 1


# ------------------------------------------------------------------ 2. retries never book twice

async def test_a_retry_with_the_same_arguments_never_books_twice(tools, pool, calendar):
    incident_id = await _incident(tools)
    args = _args(incident_id, "v-plumb-2", in_minutes(5 * 24 * 60))
    first = await tools.workflow("schedule_repair", **args)
    snapshot = await _incident_state(pool, incident_id)
    counts = await row_counts(pool)

    retries = await asyncio.gather(*[tools.workflow("schedule_repair", **args) for _ in range(3)])

    for again in retries:
        assert isinstance(again, RepairBooked) and again.already_booked
        assert (again.booking_id, again.calendar_event_id, again.start, again.end, again.booking_reference) == \
            (first.booking_id, first.calendar_event_id, first.start, first.end, first.booking_reference)
    assert len(_events_for(calendar, incident_id)) == 1
    assert await _incident_state(pool, incident_id) == snapshot
    assert await row_counts(pool) == counts


async def test_concurrent_first_calls_book_once(tools, pool, calendar):
    incident_id = await _incident(tools)
    args = _args(incident_id, "v-plumb-2", in_minutes(6 * 24 * 60))
    results = await asyncio.gather(*[tools.workflow("schedule_repair", **args) for _ in range(4)])
    assert all(isinstance(r, RepairBooked) for r in results), results
    assert len({r.booking_id for r in results}) == 1
    assert [r.already_booked for r in results].count(False) == 1
    _, history, bookings, events = await _incident_state(pool, incident_id)
    assert len(_events_for(calendar, incident_id)) == 1 and len(bookings) == 1
    assert history == [(None, "open"), ("open", "scheduled")]
    assert events.count("events.p1.repair.scheduled") == 1


# ------------------------------------------------------------------ 3. 409 for an event we never recorded

async def test_an_event_in_the_calendar_without_a_booking_row_is_recorded_once(tools, pool, calendar):
    incident_id = await _incident(tools)
    start = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    event_id = event_id_for(incident_id, "v-plumb-2", start)
    # An earlier attempt created the event and then lost its reply (the row was never written).
    calendar.store.insert("primary", {
        "id": event_id, "summary": "Repair visit (earlier attempt)",
        "start": {"dateTime": start.isoformat()}, "end": {"dateTime": (start + timedelta(hours=2)).isoformat()},
        "extendedProperties": {"private": {"incident_id": incident_id, "vendor_id": "v-plumb-2",
                                           "property_id": "p1"}}},
        "fixline-calendar@fixline-test.iam.gserviceaccount.com")
    inserts_before = sum(1 for m, p in calendar.requests if m == "POST" and "/events" in p)

    result = await tools.workflow("schedule_repair", **_args(incident_id, "v-plumb-2", start))

    assert isinstance(result, RepairBooked), result
    assert result.already_booked and result.calendar_event_id == event_id
    assert sum(1 for m, p in calendar.requests if m == "POST" and "/events" in p) == inserts_before + 1  # the 409
    assert len(_events_for(calendar, incident_id)) == 1
    status, history, bookings, events = await _incident_state(pool, incident_id)
    assert status == "scheduled" and history[-1] == ("open", "scheduled")
    assert [b["calendar_event_id"] for b in bookings] == [event_id]
    assert events.count("events.p1.repair.scheduled") == 1

    again = await tools.workflow("schedule_repair", **_args(incident_id, "v-plumb-2", start))
    assert isinstance(again, RepairBooked) and again.already_booked and again.booking_id == result.booking_id
    assert await _incident_state(pool, incident_id) == (status, history, bookings, events)


async def test_an_event_cancelled_in_the_calendar_is_not_rebooked(tools, pool, calendar):
    incident_id = await _incident(tools)
    start = (datetime.now(UTC) + timedelta(days=8)).replace(microsecond=0)
    first = await tools.workflow("schedule_repair", **_args(incident_id, "v-plumb-2", start))
    assert isinstance(first, RepairBooked)
    calendar.store.delete("primary", first.calendar_event_id)
    counts = await row_counts(pool)
    result = await tools.workflow("schedule_repair", **_args(incident_id, "v-plumb-2", start))
    assert isinstance(result, ToolError) and result.code == "conflict" and "cancelled" in result.message
    assert await row_counts(pool) == counts


# ------------------------------------------------------------------ 4. Calendar failures

async def test_a_transient_calendar_5xx_is_retried(tools, pool, calendar):
    incident_id = await _incident(tools)
    calendar.fail_next(503, "backendError", "Backend Error", times=1)
    result = await tools.workflow("schedule_repair", **_args(incident_id, "v-plumb-2", in_minutes(9 * 24 * 60)))
    assert isinstance(result, RepairBooked) and not result.already_booked
    assert len(_events_for(calendar, incident_id)) == 1


@pytest.mark.parametrize("status", [500, 503])
async def test_calendar_5xx_is_retryable_unavailable_and_writes_nothing(tools, pool, calendar, status):
    incident_id = await _incident(tools)
    counts = await row_counts(pool)
    calendar.fail_next(status, "backendError", "Backend Error", times=10)
    try:
        result = await tools.workflow("schedule_repair", **_args(incident_id, "v-plumb-2", in_minutes(10 * 24 * 60)))
    finally:
        calendar.failures.clear()
    assert isinstance(result, ToolError) and result.code == "unavailable" and result.retryable, result
    assert "calendar" in result.message and str(status) in result.message
    assert await row_counts(pool) == counts
    assert _events_for(calendar, incident_id) == []


async def test_unreachable_calendar_is_retryable_unavailable(tools, pool, swap_calendar):
    incident_id = await _incident(tools)
    swap_calendar(google_calendar_api_endpoint=f"http://127.0.0.1:{_closed_port()}")
    counts = await row_counts(pool)
    result = await tools.workflow("schedule_repair", **_args(incident_id, "v-plumb-2", in_minutes(11 * 24 * 60)))
    assert isinstance(result, ToolError) and result.code == "unavailable" and result.retryable, result
    assert "unreachable" in result.message
    assert await row_counts(pool) == counts


async def test_a_service_account_key_the_calendar_does_not_know_is_a_clear_error(tools, pool, calendar,
                                                                               swap_calendar, tmp_path):
    incident_id = await _incident(tools)
    rogue = write_service_account(make_service_account(calendar.token_uri), str(tmp_path / "rogue.json"))
    swap_calendar(google_application_credentials=rogue)
    counts = await row_counts(pool)
    result = await tools.workflow("schedule_repair", **_args(incident_id, "v-plumb-2", in_minutes(12 * 24 * 60)))
    assert isinstance(result, ToolError) and result.code == "unavailable" and not result.retryable, result
    assert "credentials" in result.message and "Invalid JWT Signature" in result.message
    assert await row_counts(pool) == counts
    assert _events_for(calendar, incident_id) == []


@pytest.mark.parametrize("content", [None, "{not json", json.dumps({"type": "service_account"})],
                         ids=["missing", "not-json", "incomplete"])
async def test_an_unusable_credentials_file_is_a_clear_error(tools, pool, swap_calendar, tmp_path, content):
    incident_id = await _incident(tools)
    path = tmp_path / "sa.json"
    if content is not None:
        path.write_text(content)
    swap_calendar(google_application_credentials=str(path))
    counts = await row_counts(pool)
    result = await tools.workflow("schedule_repair", **_args(incident_id, "v-plumb-2", in_minutes(13 * 24 * 60)))
    assert isinstance(result, ToolError) and result.code == "unavailable" and not result.retryable, result
    assert "credentials" in result.message and str(path) in result.message
    assert await row_counts(pool) == counts


# ------------------------------------------------------------------ 5. bad input: refused before the calendar

REFUSALS = [
    ({"vendor_id": "v-ghost"}, "forbidden", "approved vendor v-plumb-2, not v-ghost"),
    ({"vendor_id": "v-plumb-3"}, "forbidden", "approved vendor v-plumb-2"),  # serves p3 only, never approved
    ({"start": "past"}, "invalid_argument", "in the past"),
    ({"property_id": "p2"}, "invalid_argument", "not at property p2"),
    ({"property_id": "p-nowhere"}, "invalid_argument", "not at property p-nowhere"),
    ({"incident_id": "inc-missing"}, "not_found", "incident"),
]


@pytest.mark.parametrize(("change", "code", "mentions"), REFUSALS, ids=[r[2] for r in REFUSALS])
async def test_bad_input_is_refused_and_writes_nothing(tools, pool, calendar, change, code, mentions):
    incident_id = await _incident(tools)
    args = _args(incident_id, "v-plumb-2", in_minutes(14 * 24 * 60))
    if change.get("start") == "past":
        change = {"start": in_minutes(-30).isoformat()}
    args.update(change)
    counts, calendar_requests = await row_counts(pool), len(calendar.requests)
    result = await tools.workflow("schedule_repair", **args)
    assert isinstance(result, ToolError) and result.code == code and mentions in result.message, result
    assert await row_counts(pool) == counts
    assert len(calendar.requests) == calendar_requests  # the calendar was never called


async def test_no_booking_without_an_approval_and_none_after_a_decline(tools, pool, calendar):
    incident_id, _ = await tools.open_incident(description=DESCRIPTION)
    args = _args(incident_id, "v-plumb-2", in_minutes(15 * 24 * 60))
    counts, calendar_requests = await row_counts(pool), len(calendar.requests)
    unapproved = await tools.workflow("schedule_repair", **args)
    assert isinstance(unapproved, ToolError) and unapproved.code == "forbidden" and "no approved" in unapproved.message
    assert await row_counts(pool) == counts
    await tools.approve(incident_id, "v-plumb-2")
    await tools.approve(incident_id, None, approved=False)  # the owner changed their mind on a later call
    counts = await row_counts(pool)
    declined = await tools.workflow("schedule_repair", **args)
    assert isinstance(declined, ToolError) and declined.code == "forbidden"
    assert await row_counts(pool) == counts
    assert len(calendar.requests) == calendar_requests


async def test_a_landlord_call_books_the_vendor_the_owner_approved(tools, pool, calendar):
    incident_id = await _incident(tools)  # v-plumb-2 approved
    call_id = await insert_call(pool, call_type="landlord", incident_id=incident_id)
    result = await tools.call("schedule_repair", call_id=call_id,
                              **_args(incident_id, "v-plumb-2", in_minutes(16 * 24 * 60)))
    assert isinstance(result, RepairBooked) and not result.already_booked, result
    assert len(_events_for(calendar, incident_id)) == 1
    reference = await pool.fetchval("SELECT reference FROM repair_bookings WHERE id = $1", result.booking_id)
    assert result.booking_reference.replace("-", "") == reference


# ------------------------------------------------------------------ 6. the vendor code after a real booking

VENDOR = "v-plumb-2"


async def _code_audit(pool, call_id: str):
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT granted, reason, vendor_id FROM access_code_releases WHERE call_id = $1",
                                call_id)
        events = await conn.fetch("SELECT subject, payload FROM outbox WHERE convert_from(payload, 'UTF8') LIKE $1",
                                  f'%"call_id":"{call_id}"%')
    return [(r["granted"], r["reason"], r["vendor_id"]) for r in rows], events


async def _no_current_bookings(pool, vendor_id: str) -> None:
    """Bookings made by earlier tests would make the vendor eligible."""
    async with pool.acquire() as conn:
        await conn.execute("UPDATE incidents SET status = 'resolved' WHERE id IN"
                           " (SELECT incident_id FROM repair_bookings WHERE vendor_id = $1)", vendor_id)


async def test_the_booked_vendor_gets_the_code_inside_the_window(tools, pool, nc):
    await _no_current_bookings(pool, VENDOR)
    incident_id = await _incident(tools)
    booked = await tools.workflow("schedule_repair", **_args(incident_id, VENDOR, in_minutes(30)))
    assert isinstance(booked, RepairBooked)
    stream = await _jetstream(nc, "events.p1.vendor.code.>")

    call_id = await insert_call(pool, call_type="vendor", vendor_id=VENDOR, incident_id=incident_id)
    result = await tools.call("get_vendor_code", property_id="p1", call_id=call_id,
                              booking_reference=booked.booking_reference)

    assert isinstance(result, VendorCode) and result.code == "4812", result
    assert result.valid_until == booked.end
    rows, events = await _code_audit(pool, call_id)
    assert rows == [(True, f"booking {booked.booking_id}", VENDOR)]
    assert [e["subject"] for e in events] == ["events.p1.vendor.code.released"]
    assert b"4812" not in bytes(events[0]["payload"])
    msg = await stream.next_msg(timeout=5)
    released = msgspec.json.decode(msg.data, type=VendorCodeReleased)
    assert (released.vendor_id, released.call_id) == (VENDOR, call_id) and b"4812" not in msg.data
    await stream.unsubscribe()

    # The same vendor at another property, and another vendor at this one, with the reference:
    # refused and audited.
    await _no_current_bookings(pool, "v-plumb-1")
    for property_id, vendor in [("p2", VENDOR), ("p1", "v-plumb-1")]:
        other_call = await insert_call(pool, call_type="vendor", property_id=property_id, vendor_id=vendor)
        refused = await tools.call("get_vendor_code", property_id=property_id, call_id=other_call,
                                   booking_reference=booked.booking_reference)
        assert isinstance(refused, ToolError) and refused.code == "forbidden", refused
        assert "4812" not in refused.message and "7305" not in refused.message
        rows, events = await _code_audit(pool, other_call)
        assert rows == [(False, "no_active_booking", vendor)]
        assert [e["subject"] for e in events] == [f"events.{property_id}.vendor.code.refused"]
        assert msgspec.json.decode(events[0]["payload"], type=VendorCodeRefused).reason == "no_active_booking"


async def test_a_booking_hours_away_gives_no_code_yet(tools, pool):
    await _no_current_bookings(pool, VENDOR)
    incident_id = await _incident(tools)
    booked = await tools.workflow("schedule_repair", **_args(incident_id, VENDOR, in_minutes(3 * 60)))
    assert isinstance(booked, RepairBooked)
    call_id = await insert_call(pool, call_type="vendor", vendor_id=VENDOR, incident_id=incident_id)
    result = await tools.call("get_vendor_code", property_id="p1", call_id=call_id,
                              booking_reference=booked.booking_reference)
    assert isinstance(result, ToolError) and result.code == "forbidden" and "one hour before" in result.message
    rows, events = await _code_audit(pool, call_id)
    assert rows == [(False, "no_active_booking", VENDOR)]
    assert [e["subject"] for e in events] == ["events.p1.vendor.code.refused"]
