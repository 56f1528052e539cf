"""The dashboard history from PostgreSQL: search, each call's report and transcript, an
incident's audit trail and costs, scoped by dashboard token exactly like the live stream."""

from __future__ import annotations

import aiohttp
import pytest

from .history_rows import story
from .support import ADMIN_TOKEN, bearer, create_stream, notifier

SCOPED_P2 = "history-token-for-p2-only"


@pytest.fixture
async def svc(nc):
    stream = await create_stream(nc)
    async with notifier(stream, dashboard_tokens=f"{SCOPED_P2}=p2") as running:
        yield running


async def get(http: aiohttp.ClientSession, url: str, token: str = ADMIN_TOKEN, **params: str):
    async with http.get(url, headers=bearer(token), params=params) as resp:
        return resp.status, await resp.json()


async def test_search_finds_incidents_and_calls_by_text_in_description_summary_and_transcript(svc, pool):
    s = await story(pool, "p1")
    async with aiohttp.ClientSession() as http:
        for text in (f"{s.marker} desc", f"{s.marker} summary", f"{s.marker}-guest", f"{s.marker}-VENDOR"):
            status, body = await get(http, svc.url + "/api/history/search", q=text)
            assert status == 200 and [r["incident_id"] for r in body["results"]] == [s.incident_id], text
        status, body = await get(http, svc.url + "/api/history/search", kind="calls", q=f"{s.marker}-vendor")
        assert [r["call_id"] for r in body["results"]] == [s.vendor_call] and body["total"] == 1
        assert body["results"][0]["outcome"] == "quote" and body["results"][0]["cost"] == pytest.approx(0.07)
        _, body = await get(http, svc.url + "/api/history/search", q=s.marker, status="scheduled", property="p1")
        assert body["total"] == 1 and body["results"][0]["cost"] == pytest.approx(0.12)
        _, body = await get(http, svc.url + "/api/history/search", q=s.marker, status="resolved")
        assert body["total"] == 0
        _, body = await get(http, svc.url + "/api/history/search", q=s.marker, **{"from": "2001-01-01",
                                                                                    "to": "2001-01-02"})
        assert body["total"] == 0
        wildcard = f"{s.marker[:4]}%{s.marker[5:]}"      # matches only if % were a wildcard
        _, body = await get(http, svc.url + "/api/history/search", q=wildcard)
        assert body["total"] == 0, "the text is matched literally"


async def test_call_report_transcript_and_incident_audit_trail(svc, pool):
    s = await story(pool, "p1")
    async with aiohttp.ClientSession() as http:
        status, call = await get(http, svc.url + f"/api/history/calls/{s.guest_call}")
        assert status == 200 and call["report"]["summary"].startswith("Guest reported a leak")
        assert [t["text"] for t in call["transcript"]] == [f"The sink drips, say {s.marker}-guest.",
                                                           "I opened a ticket."]
        status, inc = await get(http, svc.url + f"/api/history/incidents/{s.incident_id}")
        assert status == 200 and [c["call_id"] for c in inc["calls"]] == [s.guest_call, s.vendor_call]
        kinds = [a["kind"] for a in inc["audit"]]
        for kind in ("incident.created", "call", "quote", "status", "decision", "booking", "door_code.released"):
            assert kind in kinds, kind
        assert kinds.index("incident.created") < kinds.index("quote") < kinds.index("decision") \
            < kinds.index("booking")
        decision = next(a for a in inc["audit"] if a["kind"] == "decision")
        assert decision["actor"] == "owner" and "approved" in decision["detail"] and "go ahead" in decision["detail"]
        assert inc["cost"] == pytest.approx(0.12)


async def test_a_p2_token_never_sees_p1(svc, pool):
    mine, theirs = await story(pool, "p2"), await story(pool, "p1")
    async with aiohttp.ClientSession() as http:
        for kind in ("incidents", "calls"):
            for q in (mine.marker, theirs.marker, "Leak under the sink"):
                status, body = await get(http, svc.url + "/api/history/search", SCOPED_P2, kind=kind, q=q)
                assert status == 200 and {r["property_id"] for r in body["results"]} <= {"p2"}, (kind, q)
                assert min(body["total"], 50) == len(body["results"])
            _, body = await get(http, svc.url + "/api/history/search", SCOPED_P2, kind=kind, q=theirs.marker)
            assert (body["total"], body["results"]) == (0, []), "no hit and no count for p1"
            _, body = await get(http, svc.url + "/api/history/search", SCOPED_P2, kind=kind, property="p1")
            assert (body["total"], body["results"]) == (0, [])
        # an id of p1 answers exactly like an id that does not exist
        for path in (f"incidents/{theirs.incident_id}", f"calls/{theirs.guest_call}"):
            foreign = await get(http, svc.url + f"/api/history/{path}", SCOPED_P2)
            unknown = await get(http, svc.url + f"/api/history/{path.split('/')[0]}/does-not-exist", SCOPED_P2)
            assert foreign == unknown and foreign[0] == 404
        status, _ = await get(http, svc.url + f"/api/history/incidents/{mine.incident_id}", SCOPED_P2)
        assert status == 200
        _, costs = await get(http, svc.url + "/api/history/costs", SCOPED_P2)
        assert {r["property_id"] for r in costs["properties"]} == {"p2"}
        _, costs = await get(http, svc.url + "/api/history/costs")
        assert {"p1", "p2"} <= {r["property_id"] for r in costs["properties"]}
        _, body = await get(http, svc.url + "/api/history/search", q=theirs.marker)
        assert body["total"] == 1, "the admin token sees p1"


async def test_credentials_and_bad_parameters(svc, pool):
    async with aiohttp.ClientSession() as http:
        for path in ("search", "costs", "calls/x", "incidents/x"):
            for headers in ({}, bearer("not-a-token")):
                async with http.get(svc.url + f"/api/history/{path}", headers=headers) as resp:
                    assert resp.status == 401, path
        async with http.get(svc.url + "/history", allow_redirects=False) as resp:
            assert resp.status == 303 and resp.headers["Location"] == "/"
        bad = [({"kind": "people"}, "kind"), ({"status": "exploded"}, "status"), ({"from": "yesterday"}, "from"),
               ({"to": "2026-01-01T10:00:00"}, "offset"), ({"limit": "0"}, "limit"), ({"limit": "1e3"}, "limit"),
               ({"from": "2026-02-01", "to": "2026-01-01"}, "before"), ({"q": "x" * 201}, "q"),
               ({"q": "a\x00b"}, "q"), ({"offset": "-1"}, "offset")]
        for params, word in bad:
            status, body = await get(http, svc.url + "/api/history/search", **params)
            assert status == 400 and word in body["error"], (params, body)
        async with http.get(svc.url + "/api/history/search?status=open&status=resolved",
                            headers=bearer()) as resp:
            assert resp.status == 400 and "once" in (await resp.json())["error"]


async def test_history_survives_a_notifier_restart(nc, pool):
    s = await story(pool, "p1")
    for _ in range(2):
        stream = await create_stream(nc)      # a fresh process with an empty event window
        async with notifier(stream) as running, aiohttp.ClientSession() as http:
            status, body = await get(http, running.url + "/api/history/search", q=s.marker)
            assert status == 200 and body["total"] == 1


async def test_the_audit_trail_shows_a_warm_handoff_and_its_result(svc, pool):
    s = await story(pool, "p1")
    await pool.execute("INSERT INTO call_handoffs (call_id, leg, stage, to_number, dial_status) VALUES"
                       " ($1, 0, 'unanswered', '+15550008888', 'no-answer')", s.guest_call)
    async with aiohttp.ClientSession() as http:
        status, inc = await get(http, svc.url + f"/api/history/incidents/{s.incident_id}")
    handoffs = [a for a in inc["audit"] if a["kind"].startswith("handoff.")]
    assert status == 200 and [(a["kind"], a["actor"]) for a in handoffs] == [
        ("handoff.unanswered", "person at +15550008888")]
    assert "did not answer (no-answer)" in handoffs[0]["detail"]
