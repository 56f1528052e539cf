"""googleapiclient (static discovery) + google-auth service-account flow against the emulator."""
from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from google.auth.exceptions import RefreshError
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from emulators.calendar import CalendarEmulator, make_service_account


def _event(event_id: str, start: str, end: str, **extra) -> dict:
    return {"id": event_id, "summary": "Repair visit - water heater",
            "start": {"dateTime": start, "timeZone": "America/Chicago"},
            "end": {"dateTime": end, "timeZone": "America/Chicago"}, **extra}


@pytest.fixture
async def calendar():
    async with CalendarEmulator(calendars=("primary", "repairs@example.com")) as emu:
        yield emu


def run(request):
    return asyncio.to_thread(request.execute)


async def test_service_account_file_token_flow_and_crud(calendar, tmp_path):
    calendar.create_service_account(str(tmp_path / "sa.json"))
    info = json.loads((tmp_path / "sa.json").read_text())
    assert info["token_uri"] == calendar.token_uri and info["type"] == "service_account"
    creds = service_account.Credentials.from_service_account_file(
        str(tmp_path / "sa.json"), scopes=["https://www.googleapis.com/auth/calendar"])
    svc = build("calendar", "v3", credentials=creds, static_discovery=True, cache_discovery=False,
                client_options={"api_endpoint": calendar.api_endpoint})
    eid = uuid.uuid5(uuid.NAMESPACE_URL, "repair:CA123:slot1:0").hex
    body = _event(eid, "2026-12-01T10:00:00-05:00", "2026-12-01T12:00:00-05:00",
                  extendedProperties={"private": {"call_sid": "CA123"}})
    created = await run(svc.events().insert(calendarId="repairs@example.com", body=body, sendUpdates="none"))
    assert created["id"] == eid and created["status"] == "confirmed" and created["kind"] == "calendar#event"
    assert created["creator"]["email"] == info["client_email"]
    assert calendar.token_requests[0]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    got = await run(svc.events().get(calendarId="repairs@example.com", eventId=eid))
    assert got["extendedProperties"]["private"]["call_sid"] == "CA123"
    patched = await run(svc.events().patch(calendarId="repairs@example.com", eventId=eid,
                                           body={"summary": "Rescheduled"}))
    assert patched["summary"] == "Rescheduled" and patched["sequence"] == 1
    assert ("POST", "/calendar/v3/calendars/repairs%40example.com/events?sendUpdates=none&alt=json") \
        in calendar.requests
    with pytest.raises(HttpError) as dup:
        await run(svc.events().insert(calendarId="repairs@example.com", body=body))
    assert dup.value.status_code == 409 and dup.value.error_details[0]["reason"] == "duplicate"
    await run(svc.events().delete(calendarId="repairs@example.com", eventId=eid))
    cancelled = await run(svc.events().get(calendarId="repairs@example.com", eventId=eid))
    assert cancelled["status"] == "cancelled"
    with pytest.raises(HttpError) as again:  # a deleted id stays taken
        await run(svc.events().insert(calendarId="repairs@example.com", body=body))
    assert again.value.status_code == 409


async def test_list_filters_ordering_and_pagination(calendar):
    svc = calendar.service()
    for i, hour in enumerate([14, 9, 11]):
        await run(svc.events().insert(calendarId="primary", body=_event(
            f"evt{i}abcde", f"2026-12-01T{hour:02d}:00:00Z", f"2026-12-01T{hour + 1:02d}:00:00Z",
            extendedProperties={"private": {"call_sid": f"CA{i}"}})))
    req = svc.events().list(calendarId="primary", timeMin="2026-12-01T09:30:00Z",
                            timeMax="2026-12-01T23:00:00Z", singleEvents=True, orderBy="startTime",
                            maxResults=1)
    pages = []
    while req is not None:
        resp = await run(req)
        pages.append([e["id"] for e in resp["items"]])
        req = svc.events().list_next(req, resp)
    assert pages == [["evt1abcde"], ["evt2abcde"], ["evt0abcde"]]  # 09-10 ends after 09:30
    only = await run(svc.events().list(calendarId="primary", privateExtendedProperty="call_sid=CA2"))
    assert [e["id"] for e in only["items"]] == ["evt2abcde"]
    with pytest.raises(HttpError) as bad:
        await run(svc.events().list(calendarId="primary", orderBy="startTime"))
    assert bad.value.status_code == 400


async def test_freebusy_and_unknown_calendar(calendar):
    svc = calendar.service()
    await run(svc.events().insert(calendarId="primary", body=_event(
        "busslot01", "2026-12-01T10:00:00-05:00", "2026-12-01T12:00:00-05:00")))
    fb = await run(svc.freebusy().query(body={
        "timeMin": "2026-12-01T08:00:00-05:00", "timeMax": "2026-12-01T18:00:00-05:00",
        "timeZone": "America/Chicago", "items": [{"id": "primary"}, {"id": "nobody@example.com"}]}))
    assert fb["calendars"]["primary"]["busy"] == [{"start": "2026-12-01T09:00:00-06:00",
                                                   "end": "2026-12-01T11:00:00-06:00"}]
    assert fb["calendars"]["nobody@example.com"]["errors"][0]["reason"] == "notFound"
    with pytest.raises(HttpError) as nf:
        await run(svc.events().get(calendarId="primary", eventId="missing01"))
    assert nf.value.status_code == 404 and nf.value.error_details[0]["reason"] == "notFound"
    with pytest.raises(HttpError) as cal_nf:
        await run(svc.events().list(calendarId="other@example.com"))
    assert cal_nf.value.status_code == 404


async def test_validation_errors(calendar):
    svc = calendar.service()
    cases = [(_event("BAD_ID", "2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z"), 400, "invalid"),
             ({"id": "noendtime1", "start": {"dateTime": "2026-12-01T10:00:00Z"}}, 400, "required"),
             (_event("attendee1", "2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z",
                     attendees=[{"email": "guest@example.com"}]), 403, "forbiddenForServiceAccounts")]
    for body, status, reason in cases:
        with pytest.raises(HttpError) as exc:
            await run(svc.events().insert(calendarId="primary", body=body))
        assert (exc.value.status_code, exc.value.error_details[0]["reason"]) == (status, reason)


async def test_unregistered_key_and_missing_token_are_rejected(calendar):
    stranger = make_service_account(calendar.token_uri)  # never registered with the emulator
    creds = service_account.Credentials.from_service_account_info(
        stranger, scopes=["https://www.googleapis.com/auth/calendar"])
    with pytest.raises(RefreshError) as exc:
        await run(calendar.service(creds).events().list(calendarId="primary"))
    assert "invalid_grant" in str(exc.value) and "Invalid JWT Signature" in str(exc.value)
    import httplib2
    anon = build("calendar", "v3", http=httplib2.Http(), static_discovery=True,
                 client_options={"api_endpoint": calendar.api_endpoint})
    with pytest.raises(HttpError) as unauth:
        await run(anon.events().list(calendarId="primary"))
    assert unauth.value.status_code == 401


async def test_retry_after_5xx_is_idempotent_with_client_id(calendar):
    svc = calendar.service()
    calendar.fail_next(503)
    body = _event("repeat0001", "2026-12-02T10:00:00Z", "2026-12-02T11:00:00Z")
    req = svc.events().insert(calendarId="primary", body=body)
    created = await asyncio.to_thread(req.execute, num_retries=2)
    assert created["id"] == "repeat0001"
    assert sum(1 for m, p in calendar.requests if m == "POST" and "/events" in p) == 2
