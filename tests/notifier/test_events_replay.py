"""GET /events against a real NATS server: snapshot, live order, replay, aged-out resume."""

from __future__ import annotations

import aiohttp

from fixline_proto import events as ev

from .support import bearer, create_stream, notifier, open_stream, payload


def created(property_id: str, n: int) -> ev.IncidentCreated:
    return ev.IncidentCreated(property_id=property_id, incident_id=f"inc-{n}", category="plumbing",
                              severity="high", description=f"leak number {n}")


def updated(property_id: str, n: int, status: str, previous: str) -> ev.IncidentUpdated:
    return ev.IncidentUpdated(property_id=property_id, incident_id=f"inc-{n}", status=status,
                              previous_status=previous)


async def test_fresh_client_gets_retry_snapshot_then_live_events_with_stream_ids(nc):
    stream = await create_stream(nc)
    first = await stream.publish(created("p1", 1))
    async with notifier(stream) as svc, aiohttp.ClientSession() as http:
        async with open_stream(http, svc.url) as reader:
            assert reader.response.headers["Content-Type"].startswith("text/event-stream")
            assert reader.response.headers["Cache-Control"].startswith("no-cache")
            assert reader.response.headers["X-Accel-Buffering"] == "no"
            assert "Content-Encoding" not in reader.response.headers
            retry = await reader.next()
            assert retry.retry == 1500
            (snapshot,) = await reader.events(1)
            assert (snapshot.event, snapshot.id) == ("snapshot", str(first))
            assert [i["incident_id"] for i in payload(snapshot)["incidents"]] == ["inc-1"]
            seqs = [await stream.publish(updated("p1", 1, "troubleshooting", "open")),
                    await stream.publish(created("p2", 2))]
            live = await reader.events(2)
            assert [m.id for m in live] == [str(s) for s in seqs]
            assert [m.event for m in live] == ["incident.updated", "incident.created"]
            assert payload(live[0])["status"] == "troubleshooting"


async def test_resume_after_disconnect_loses_and_duplicates_nothing(nc):
    stream = await create_stream(nc)
    async with notifier(stream) as svc, aiohttp.ClientSession() as http:
        async with open_stream(http, svc.url) as reader:
            await reader.events(1)  # snapshot
            before = [await stream.publish(created("p1", n)) for n in range(3)]
            seen = await reader.events(3)
            assert [int(m.id) for m in seen] == before
        missed = [await stream.publish(created("p1", n)) for n in range(3, 8)]
        async with open_stream(http, svc.url, headers={**bearer(), "Last-Event-ID": seen[-1].id}) as reader:
            replayed = await reader.events(5)
            assert [int(m.id) for m in replayed] == missed
            assert all(m.event == "incident.created" for m in replayed)
            after = await stream.publish(created("p1", 8))
            assert int((await reader.events(1))[0].id) == after


async def test_resume_while_events_keep_arriving_switches_to_live_without_gap_or_duplicate(nc):
    stream = await create_stream(nc)
    for n in range(40):
        await stream.publish(created("p1", n))
    async with notifier(stream) as svc, aiohttp.ClientSession() as http:
        async with open_stream(http, svc.url, params={"since": "5"}) as reader:
            more = [await stream.publish(updated("p1", n, "troubleshooting", "open")) for n in range(20)]
            received = [int(m.id) for m in await reader.events(35 + 20)]
    assert received == list(range(6, 41)) + more


async def test_since_query_parameter_resumes_a_new_event_source(nc):
    stream = await create_stream(nc)
    seqs = [await stream.publish(created("p1", n)) for n in range(4)]
    async with notifier(stream) as svc, aiohttp.ClientSession() as http:
        for params in ({"since": str(seqs[1])}, {"last_event_id": str(seqs[1])}):
            async with open_stream(http, svc.url, params=params) as reader:
                assert [int(m.id) for m in await reader.events(2)] == seqs[2:]
        # the header wins over the query parameter
        async with open_stream(http, svc.url, headers={**bearer(), "Last-Event-ID": str(seqs[2])},
                               params={"since": "0"}) as reader:
            assert [int(m.id) for m in await reader.events(1)] == seqs[3:]


async def test_resume_from_an_aged_out_sequence_gets_reset_and_snapshot(nc):
    stream = await create_stream(nc, max_msgs=5)
    async with notifier(stream) as svc:
        await stream.publish(created("p1", 1))
        await stream.publish(updated("p1", 1, "troubleshooting", "open"))
        seqs = [await stream.publish(created("p1", n)) for n in range(2, 8)]   # the first two age out
        info = await nc.jetstream().stream_info(stream.name)
        assert info.state.first_seq > 2
        async with aiohttp.ClientSession() as http:
            async with open_stream(http, svc.url, headers={**bearer(), "Last-Event-ID": "1"}) as reader:
                reset, snapshot = await reader.events(2)
                assert reset.event == "reset" and reset.id is None
                assert payload(reset)["reason"] == "aged_out"
                assert payload(reset)["first_seq"] == info.state.first_seq
                assert (snapshot.event, snapshot.id) == ("snapshot", str(seqs[-1]))
                incidents = {i["incident_id"]: i for i in payload(snapshot)["incidents"]}
                # the notifier saw the aged-out events live: the snapshot still has their effect
                assert incidents["inc-1"]["status"] == "troubleshooting"
                assert len(incidents) == 7
                live = await stream.publish(created("p1", 99))
                assert int((await reader.events(1))[0].id) == live


async def test_resume_from_a_sequence_beyond_the_stream_gets_reset_and_snapshot(nc):
    stream = await create_stream(nc)
    await stream.publish(created("p1", 1))
    async with notifier(stream) as svc, aiohttp.ClientSession() as http:
        async with open_stream(http, svc.url, params={"since": "999999"}) as reader:
            reset, snapshot = await reader.events(2)
            assert payload(reset)["reason"] == "unknown_sequence"
            assert snapshot.event == "snapshot"


async def test_malformed_last_event_id_is_a_clear_400(nc):
    stream = await create_stream(nc)
    async with notifier(stream) as svc, aiohttp.ClientSession() as http:
        for headers, params in (({"Last-Event-ID": "abc"}, None), ({"Last-Event-ID": "-3"}, None),
                                ({}, {"since": "12x"}), ({"Last-Event-ID": "1" * 30}, None)):
            async with http.get(f"{svc.url}/events", headers={**bearer(), **headers}, params=params) as resp:
                assert resp.status == 400
                assert "non-negative integer" in (await resp.json())["error"]
        # an empty Last-Event-ID is a fresh start
        async with open_stream(http, svc.url, headers={**bearer(), "Last-Event-ID": ""}) as reader:
            assert (await reader.events(1))[0].event == "snapshot"
