"""Who may connect, and which properties' events reach them (live, replay and snapshot)."""

from __future__ import annotations

import aiohttp

from fixline_proto import events as ev

from .support import ADMIN_TOKEN, bearer, create_stream, notifier, open_stream, payload

SCOPED = "scoped-token-for-p2-only"


def incident(property_id: str, n: int) -> ev.IncidentCreated:
    return ev.IncidentCreated(property_id=property_id, incident_id=f"{property_id}-{n}", category="hvac",
                              severity="medium", description="no heat")


async def test_no_or_wrong_token_is_401_everywhere(nc):
    stream = await create_stream(nc)
    async with notifier(stream) as svc, aiohttp.ClientSession() as http:
        for path in ("/events", "/api/snapshot", "/health/services"):
            for headers in ({}, bearer("not-the-token"), {"Cookie": "fixline_session=forged.9999999999.sig"}):
                async with http.get(svc.url + path, headers=headers) as resp:
                    assert resp.status == 401, path
        async with http.get(svc.url + "/", allow_redirects=False) as resp:
            assert resp.status == 401 and "Sign in" in await resp.text()


async def test_without_any_configured_token_everything_is_closed(nc):
    stream = await create_stream(nc)
    async with notifier(stream, dashboard_token="") as svc, aiohttp.ClientSession() as http:
        async with http.get(svc.url + "/events", headers=bearer("")) as resp:
            assert resp.status == 401


async def test_scoped_token_never_receives_other_properties(nc):
    stream = await create_stream(nc)
    early = [await stream.publish(incident(p, 0)) for p in ("p1", "p2", "p3")]
    async with notifier(stream, dashboard_tokens=f"{SCOPED}=p2") as svc, aiohttp.ClientSession() as http:
        async with open_stream(http, svc.url, headers=bearer(SCOPED)) as reader:
            (snapshot,) = await reader.events(1)
            body = payload(snapshot)
            assert {i["property_id"] for i in body["incidents"]} == {"p2"}
            assert {p["id"] for p in body["properties"]} == {"p2"}
            seqs = {p: await stream.publish(incident(p, 1)) for p in ("p1", "p3", "p2")}
            (live,) = await reader.events(1)
            assert (live.id, payload(live)["property_id"]) == (str(seqs["p2"]), "p2")
        # replay is filtered too: from the very start, only p2's two events come back
        async with open_stream(http, svc.url, headers=bearer(SCOPED), params={"since": "0"}) as reader:
            replayed = await reader.events(2)
            assert [int(m.id) for m in replayed] == [early[1], seqs["p2"]]
            marker = await stream.publish(incident("p2", 2))
            (next_live,) = await reader.events(1)
            assert int(next_live.id) == marker   # nothing from p1/p3 slipped in between
        async with http.get(svc.url + "/api/snapshot", headers=bearer(SCOPED)) as resp:
            assert {i["property_id"] for i in (await resp.json())["incidents"]} == {"p2"}
        async with http.get(svc.url + "/api/snapshot", headers=bearer(ADMIN_TOKEN)) as resp:
            assert {i["property_id"] for i in (await resp.json())["incidents"]} == {"p1", "p2", "p3"}


async def test_browser_login_sets_an_httponly_session_cookie(nc):
    stream = await create_stream(nc)
    async with notifier(stream) as svc:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(svc.url + "/login", data={"token": "wrong"}, allow_redirects=False) as resp:
                assert resp.status == 401 and "not valid" in await resp.text()
                assert "Set-Cookie" not in resp.headers
            async with http.post(svc.url + "/login", data={"token": ADMIN_TOKEN}, allow_redirects=False) as resp:
                assert resp.status == 303 and resp.headers["Location"] == "/"
                cookie = resp.headers["Set-Cookie"]
                assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and ADMIN_TOKEN not in cookie
            async with http.get(svc.url + "/") as resp:
                assert resp.status == 200 and "Live operations" in await resp.text()
            async with open_stream(http, svc.url, headers={}) as reader:
                assert (await reader.events(1))[0].event == "snapshot"
            async with http.post(svc.url + "/logout", allow_redirects=False) as resp:
                assert resp.status == 303
            async with http.get(svc.url + "/events") as resp:
                assert resp.status == 401
        async with aiohttp.ClientSession() as http:  # the link `make run` prints
            async with http.get(svc.url + "/login", params={"token": ADMIN_TOKEN}, allow_redirects=False) as resp:
                assert resp.status == 303 and "fixline_session=" in resp.headers["Set-Cookie"]


async def test_service_heartbeats_are_relayed(nc):
    stream = await create_stream(nc)
    async with notifier(stream) as svc, aiohttp.ClientSession() as http:
        async with open_stream(http, svc.url) as reader:
            await reader.events(1)
            (beat,) = await reader.events(1, timeout=8, health=True)
            assert beat.event == "service.heartbeat" and beat.id is None
            assert payload(beat)["service"] == "notifier"
        async with http.get(svc.url + "/health/services", headers=bearer()) as resp:
            services = (await resp.json())["services"]
            assert any(s["service"] == "notifier" and s["state"] == "ready" and not s["stale"] for s in services)
