"""A manager's alert (an emergency) stays on the dashboard until someone handles it: folded
from the stream (so it survives reconnects and restarts), handled only through an authorized,
same-origin, in-scope POST; everything else is refused and changes nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
import msgspec
import pytest

from fixline_proto import events as ev
from services.notifier.state import MAX_CLOSED_INCIDENTS_PER_PROPERTY, DashboardState

from .support import ADMIN_TOKEN, bearer, create_stream, notifier

SCOPED_P2 = "scoped-token-for-p2-only"
HANDLE = "/api/alerts/handled"


def _raised(pid: str, iid: str) -> ev.IncidentAlertRaised:
    return ev.IncidentAlertRaised(property_id=pid, incident_id=iid, alert_id=f"alert:{iid}:emergency",
                                  detail="EMERGENCY (hvac): smell of gas")


def _body(iid: str) -> dict:
    return {"incident_id": iid, "alert_id": f"alert:{iid}:emergency"}


# --- the reducer -----------------------------------------------------------------------------

def test_an_alert_is_raised_once_and_handled_once():
    state = DashboardState()
    state.apply(_raised("p1", "inc-1"), 1)
    state.apply(_raised("p1", "inc-1"), 2)   # raised again (a replayed step): still one
    (alert,) = state.incidents["inc-1"].alerts
    assert not alert.handled and state.incidents["inc-1"].alerting
    state.apply(ev.IncidentAlertHandled(property_id="p1", incident_id="inc-1", alert_id=alert.alert_id,
                                        by="token:admin"), 3)
    assert alert.handled and alert.handled_by == "token:admin" and not state.incidents["inc-1"].alerting
    state.apply(_raised("p1", "inc-1"), 4)
    assert state.incidents["inc-1"].alerts == [alert] and alert.handled   # handled stays handled


def test_handling_an_alert_that_was_never_raised_changes_nothing():
    state = DashboardState()
    state.apply(_raised("p1", "inc-1"), 1)
    state.apply(ev.IncidentAlertHandled(property_id="p1", incident_id="inc-1", alert_id="alert:other"), 2)
    assert not state.incidents["inc-1"].alerts[0].handled
    assert len(state.incidents["inc-1"].alerts) == 1


def test_a_closed_incident_with_an_open_alert_is_never_pruned():
    state, old = DashboardState(), datetime(2026, 1, 1, tzinfo=UTC)
    state.apply(ev.IncidentCreated(property_id="p1", incident_id="alerting", category="hvac", severity="emergency",
                                   description="gas", status="cancelled", occurred_at=old), 1)
    state.apply(msgspec.structs.replace(_raised("p1", "alerting"), occurred_at=old), 2)   # the oldest of all
    for n in range(MAX_CLOSED_INCIDENTS_PER_PROPERTY + 5):
        state.apply(ev.IncidentCreated(property_id="p1", incident_id=f"closed-{n}", category="hvac",
                                       severity="low", description="x", status="resolved",
                                       occurred_at=old + timedelta(minutes=n + 1)), 3 + n)
    assert "alerting" in state.incidents and "closed-0" not in state.incidents


# --- the endpoint ----------------------------------------------------------------------------

async def _snapshot_alerts(http, url: str) -> dict[str, list[dict]]:
    for _ in range(100):   # /readyz is 200 once caught up with the stream
        async with http.get(url + "/readyz") as resp:
            if resp.status == 200:
                break
        await asyncio.sleep(0.05)
    async with http.get(url + "/api/snapshot", headers=bearer()) as resp:
        return {i["incident_id"]: i["alerts"] for i in (await resp.json())["incidents"]}


async def _last_seq(stream) -> int:
    return (await stream.nc.jetstream().stream_info(stream.name)).state.last_seq


async def test_the_alert_stays_until_a_manager_handles_it(nc):
    stream = await create_stream(nc)
    await stream.publish(_raised("p1", "inc-a"))
    async with notifier(stream) as svc, aiohttp.ClientSession() as http:
        assert [a["handled"] for a in (await _snapshot_alerts(http, svc.url))["inc-a"]] == [False]
        async with http.post(svc.url + HANDLE, json=_body("inc-a"), headers=bearer()) as resp:
            assert resp.status == 200 and (await resp.json())["already"] is False
        (alert,) = (await _snapshot_alerts(http, svc.url))["inc-a"]
        assert alert["handled"] and alert["handled_by"] == "token:admin"
        seq = await _last_seq(stream)
        async with http.post(svc.url + HANDLE, json=_body("inc-a"), headers=bearer()) as resp:
            assert resp.status == 200 and (await resp.json())["already"] is True
        assert await _last_seq(stream) == seq     # a second click publishes nothing
    async with notifier(stream) as svc, aiohttp.ClientSession() as http:   # a restart folds it back
        assert (await _snapshot_alerts(http, svc.url))["inc-a"][0]["handled"]


@pytest.mark.parametrize(("headers", "body", "status"), [
    ({}, _body("inc-b"), 401),                                          # no credentials
    (bearer("not-the-token"), _body("inc-b"), 401),
    (bearer(SCOPED_P2), _body("inc-b"), 404),                           # another property's alert
    (bearer(), {"incident_id": "inc-b", "alert_id": "alert:forged"}, 404),
    (bearer(), {"incident_id": "inc-nope", "alert_id": "alert:inc-nope:emergency"}, 404),
    (bearer(), {"incident_id": "inc-b"}, 400),                          # malformed
    (bearer(), {**_body("inc-b"), "by": "someone else"}, 400),          # no field of our own to forge
    (bearer(), {"incident_id": "inc b; DROP", "alert_id": "x"}, 400),
])
async def test_a_refused_handle_changes_nothing(nc, headers, body, status):
    stream = await create_stream(nc)
    await stream.publish(_raised("p1", "inc-b"))
    async with notifier(stream, dashboard_tokens=f"{SCOPED_P2}=p2") as svc, aiohttp.ClientSession() as http:
        seq = await _last_seq(stream)
        async with http.post(svc.url + HANDLE, json=body, headers=headers) as resp:
            assert resp.status == status and "error" in await resp.json()
        assert await _last_seq(stream) == seq
        assert [a["handled"] for a in (await _snapshot_alerts(http, svc.url))["inc-b"]] == [False]


async def test_a_cross_site_handle_with_a_session_is_refused(nc):
    stream = await create_stream(nc)
    await stream.publish(_raised("p1", "inc-c"))
    async with notifier(stream) as svc, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(svc.url + "/login", data={"token": ADMIN_TOKEN}, headers={"Origin": svc.url},
                             allow_redirects=False) as resp:
            assert resp.status == 303
        seq = await _last_seq(stream)
        async with http.post(svc.url + HANDLE, json=_body("inc-c"), headers={"Origin": "https://evil.example"}) as resp:
            assert resp.status == 403
        assert await _last_seq(stream) == seq
        async with http.post(svc.url + HANDLE, json=_body("inc-c"), headers={"Origin": svc.url}) as resp:
            assert resp.status == 200   # the page's own POST with the session cookie
        assert (await _snapshot_alerts(http, svc.url))["inc-c"][0]["handled"]
