"""Forged stream messages: whatever does not decode as an event on its own subject is
dropped and counted, and reaches no client (live, replay, snapshot) and no state."""

from __future__ import annotations

import aiohttp
import msgspec

from fixline_proto import encode, subjects
from fixline_proto import events as ev

from .support import SCOPED_P2, bearer, create_stream, notifier, open_stream, payload


def incident(property_id: str, incident_id: str, description: str = "no heat") -> ev.IncidentCreated:
    return ev.IncidentCreated(property_id=property_id, incident_id=incident_id, category="hvac",
                              severity="medium", description=description)


def forgeries() -> list[tuple[str, bytes, str]]:
    """(subject tail, payload, the reason it must be counted under)."""
    claims_p2 = encode(incident("p2", "forged-claims-p2"))
    good_json = msgspec.to_builtins(incident("p1", "forged-bad-field"))
    return [
        ("p1.incident.created", b"<img src=x onerror=alert(1)>", "malformed"),
        ("p1.incident.created", b'{"type": "incident.created", "property_id": "p1"', "malformed"),
        ("p1.incident.created", b'{"type": "admin.granted", "property_id": "p1"}', "invalid"),
        ("p1.incident.created", msgspec.json.encode({**good_json, "severity": "<script>"}), "invalid"),
        ("p1.incident.created", msgspec.json.encode({**good_json, "description": {"html": "<b>"}}), "invalid"),
        ("p1.incident.created", claims_p2, "subject_mismatch"),     # p1's subject, p2's payload
        ("p2.incident.updated", claims_p2, "subject_mismatch"),     # right property, wrong type
    ]


def rejected(svc, reason: str) -> float:
    return svc.runtime.registry.get_sample_value("notifier_events_rejected_total", {"reason": reason}) or 0.0


async def test_forged_messages_are_dropped_counted_and_never_reach_a_client(nc):
    stream = await create_stream(nc)
    async with notifier(stream, dashboard_tokens=f"{SCOPED_P2}=p2") as svc, aiohttp.ClientSession() as http:
        async with (open_stream(http, svc.url) as admin, open_stream(http, svc.url, headers=bearer(SCOPED_P2))
                    as scoped):
            await admin.events(1)
            await scoped.events(1)                    # the snapshots
            first = await stream.publish(incident("p1", "real-1"))
            for tail, data, _ in forgeries():
                await stream.publish_raw(tail, data)
            last = await stream.publish(incident("p2", "real-2"))
            live = await admin.events(2)
            assert [int(m.id) for m in live] == [first, last]
            assert [payload(m)["incident_id"] for m in live] == ["real-1", "real-2"]
            (scoped_live,) = await scoped.events(1)   # the forged "p2" incident never reached p2's viewer
            assert payload(scoped_live)["incident_id"] == "real-2"

        expected: dict[str, int] = {}
        for _, _, reason in forgeries():
            expected[reason] = expected.get(reason, 0) + 1
        assert {reason: rejected(svc, reason) for reason in expected} == expected
        assert svc.runtime.registry.get_sample_value("notifier_events_total", {"outcome": "applied"}) == 2

        async with http.get(svc.url + "/api/snapshot", headers=bearer()) as resp:
            snapshot = await resp.json()
        assert sorted(i["incident_id"] for i in snapshot["incidents"]) == ["real-1", "real-2"]
        assert snapshot["seq"] == last
        async with open_stream(http, svc.url, params={"since": "0"}) as replay:  # replay checks too
            replayed = await replay.events(2)
            assert [int(m.id) for m in replayed] == [first, last]
            marker = await stream.publish(incident("p1", "real-3"))
            assert int((await replay.events(1))[0].id) == marker


async def test_only_contract_fields_are_forwarded_to_browsers(nc):
    """Unknown fields decode (schema evolution) but are not passed on: the frame is the
    re-encoded event, not the bytes the publisher sent."""
    stream = await create_stream(nc)
    extra = {**msgspec.to_builtins(incident("p1", "with-extra")), "html": "<script>alert(1)</script>"}
    seq = await stream.publish_raw("p1.incident.created", msgspec.json.encode(extra))
    async with notifier(stream) as svc, aiohttp.ClientSession() as http:
        async with open_stream(http, svc.url, params={"since": "0"}) as replay:
            (message,) = await replay.events(1)
            assert int(message.id) == seq and "html" not in payload(message)
        async with open_stream(http, svc.url) as reader:
            await reader.events(1)
            await stream.publish_raw("p1.incident.created", msgspec.json.encode(extra))
            (live,) = await reader.events(1)
            assert payload(live)["incident_id"] == "with-extra" and "html" not in payload(live)


async def test_undecodable_heartbeats_are_counted_and_not_relayed(nc):
    stream = await create_stream(nc)
    async with notifier(stream) as svc, aiohttp.ClientSession() as http:
        async with open_stream(http, svc.url) as reader:
            await reader.events(1)
            for junk in (b"<script>alert(1)</script>", b'{"service": "x", "instance": "y", "state": "<b>"}'):
                await nc.publish(subjects.SERVICE_HEARTBEAT, junk)
            await nc.flush()
            beats = await reader.events(2, timeout=8, health=True)   # only genuine beats come through
            assert {payload(b)["service"] for b in beats} == {"notifier"}
        assert svc.runtime.registry.get_sample_value("notifier_heartbeats_rejected_total") == 2
