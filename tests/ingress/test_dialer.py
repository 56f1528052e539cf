"""The outbound dialer: DialCall commands from JetStream (real NATS, real PostgreSQL)."""

import asyncio
import contextlib
import socket
import uuid

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from fixline_proto import encode, subjects
from fixline_proto.commands import DialCall
from fixline_proto.events import CallEnded, CallStarted
from emulators.twilio import TwilioEmulator
from tests.ingress.conftest import AUTH_TOKEN, events_for_call, ingress_running

ACCOUNT_SID = "AC" + "1" * 32


async def new_consumer(nc) -> str:
    """A durable of this test's own that starts at new messages (the CALLS stream holds the session's history)."""
    durable = f"ingress-dialer-{uuid.uuid4().hex[:8]}"
    await nc.jetstream().add_consumer(subjects.CALLS_STREAM, ConsumerConfig(
        durable_name=durable, filter_subject=subjects.CALLS_DIAL, deliver_policy=DeliverPolicy.NEW,
        ack_policy=AckPolicy.EXPLICIT))
    return durable


async def publish_dial(nc, command: DialCall, msg_id: str | None = None) -> None:
    headers = {"Nats-Msg-Id": msg_id} if msg_id else None
    await nc.jetstream().publish(subjects.CALLS_DIAL, encode(command), headers=headers)


@contextlib.asynccontextmanager
async def dialer_ingress(nats_url, database_url, nc, twilio_api_base_url: str, **overrides):
    durable = await new_consumer(nc)
    async with ingress_running(nats_url, database_url, twilio_account_sid=ACCOUNT_SID, dialer_consumer=durable,
                               twilio_api_base_url=twilio_api_base_url, **overrides) as svc:
        yield svc, durable


async def wait_for(predicate, timeout: float = 5.0, interval: float = 0.05):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(interval)


async def pending_acks(nc, durable: str) -> int:
    info = await nc.jetstream().consumer_info(subjects.CALLS_STREAM, durable)
    return info.num_ack_pending + info.num_pending


async def test_invalid_dial_commands_are_rejected_with_an_event_and_no_row(nats_url, ingress_database_url, nc,
                                                                            ingress_pool, prop):
    property_id, _ = prop
    async with dialer_ingress(nats_url, ingress_database_url, nc, "http://127.0.0.1:1") as (svc, durable):
        bad_number = DialCall(call_id=uuid.uuid4().hex, call_type="vendor", property_id=property_id,
                              to_number="555-0100", vendor_id="v-plumb-1")
        no_vendor = DialCall(call_id=uuid.uuid4().hex, call_type="vendor", property_id=property_id,
                             to_number="+15550201001", vendor_id="v-nobody")
        for command in (bad_number, no_vendor):
            await publish_dial(nc, command)
        await nc.jetstream().publish(subjects.CALLS_DIAL, b"{not json")
        assert await wait_for(lambda: _drained(nc, durable))
    for command, why in ((bad_number, "not an E.164 number"), (no_vendor, "vendor 'v-nobody' is unknown")):
        assert await ingress_pool.fetchval("SELECT count(*) FROM calls WHERE id = $1", command.call_id) == 0
        events = await events_for_call(nc, property_id, command.call_id, want=1)
        assert [type(e) for e in events] == [CallEnded]
        assert events[0].reason.startswith("rejected: ") and why in events[0].reason


async def _drained(nc, durable: str) -> bool:
    return await pending_acks(nc, durable) == 0


async def test_twilio_unreachable_keeps_the_call_pending_and_redelivers(nats_url, ingress_database_url, nc,
                                                                        ingress_pool):
    command = DialCall(call_id=uuid.uuid4().hex, call_type="landlord", property_id="p1", to_number="+15550109001")
    async with dialer_ingress(nats_url, ingress_database_url, nc, "http://127.0.0.1:1") as (svc, durable):
        await publish_dial(nc, command, msg_id=f"dial-{command.call_id}")

        seen = {}

        async def redelivered_and_handed_back() -> bool:
            # A redelivery may be mid-attempt ("dialing") when we look: wait for its hand-back.
            info = await nc.jetstream().consumer_info(subjects.CALLS_STREAM, durable)
            seen["row"] = await ingress_pool.fetchrow("SELECT * FROM calls WHERE id = $1", command.call_id)
            redelivered = info.num_redelivered >= 1 or info.delivered.consumer_seq >= 2
            return redelivered and seen["row"]["dial_state"] == "pending"

        assert await wait_for(redelivered_and_handed_back, timeout=6.0)
        row = seen["row"]
        assert (row["dial_state"], row["ended_at"], row["from_number"], row["landlord_id"]) == (
            "pending", None, "+15550100001", "l1")
        metrics = await _metrics(svc)
        assert 'ingress_dial_attempts_total{outcome="retry"}' in metrics
    events = await events_for_call(nc, "p1", command.call_id, want=1)
    assert [type(e) for e in events] == [CallStarted]  # once, although delivered twice; no CallEnded


async def _metrics(svc) -> str:
    import aiohttp
    async with aiohttp.ClientSession() as http, http.get(f"{svc.url}/metrics") as resp:
        return await resp.text()


# --- against the Twilio emulator (real twilio SDK over HTTP; the emulator rings our webhooks) ---------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def dial_setup(nats_url, database_url, nc):
    emulator = await TwilioEmulator(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, ring_s=0.05,
                                    verb_time_scale=0.01).start()
    port = _free_port()
    try:
        async with dialer_ingress(nats_url, database_url, nc, emulator.base_url, http_port=port,
                                  public_base_url=f"http://127.0.0.1:{port}") as (svc, durable):
            yield emulator, svc, durable, f"http://127.0.0.1:{port}"
    finally:
        await emulator.stop()


def _creates(emulator) -> list:
    return [form for method, path, form in emulator.rest_requests if method == "POST" and path.endswith("/Calls.json")]


def _vendor_call(property_id: str = "p1") -> DialCall:
    return DialCall(call_id=uuid.uuid4().hex, call_type="vendor", property_id=property_id,
                    to_number="+15550201001", vendor_id="v-plumb-1", briefing="Leaking sink, 12 Gull Lane")


async def test_a_dial_command_delivered_twice_places_exactly_one_call(nats_url, ingress_database_url, nc,
                                                                      ingress_pool, no_open_calls):
    command = _vendor_call()
    async with dial_setup(nats_url, ingress_database_url, nc) as (emulator, svc, durable, public):
        # The same command twice under different message ids (a re-publish after a crash, past the stream's
        # duplicate detection), delivered concurrently.
        await asyncio.gather(publish_dial(nc, command, "a-" + command.call_id),
                             publish_dial(nc, command, "b-" + command.call_id))

        async def ended():
            return await ingress_pool.fetchval("SELECT ended_at IS NOT NULL AND status = 'completed' FROM calls"
                                               " WHERE id = $1", command.call_id)

        assert await wait_for(ended, timeout=10)
        assert await wait_for(lambda: _drained(nc, durable))
        creates = _creates(emulator)
        assert len(creates) == 1
        form = creates[0]
        query = f"call_id={command.call_id}"
        assert (form["To"], form["From"], form["Url"], form["StatusCallback"], form["MachineDetection"]) == (
            "+15550201001", "+15550100001", f"{public}/twilio/voice?{query}", f"{public}/twilio/status?{query}",
            "Enable")
        assert form.getall("StatusCallbackEvent") == ["initiated", "ringing", "answered", "completed"]
        [call] = emulator.calls.values()
        row = await ingress_pool.fetchrow("SELECT * FROM calls WHERE id = $1", command.call_id)
        assert (row["dial_state"], row["twilio_call_sid"], row["answered_by"], row["briefing"]) == (
            "placed", call.sid, "human", command.briefing)
        assert row["admission"] == "overflow"  # no bridge reported: the vendor heard "we will call you back"
        assert 'ingress_dial_attempts_total{outcome="duplicate"} 1.0' in await _metrics(svc)
    events = await events_for_call(nc, "p1", command.call_id, want=3)
    names = [type(e).__name__ for e in events]
    assert names.count("CallStarted") == 1 and names.count("CallEnded") == 1
    # Twilio does not order callbacks: a "ringing" that lands after "in-progress" is ignored, never applied.
    assert "completed" in {e.status for e in events if type(e).__name__ == "CallStatusChanged"}


async def test_a_twilio_error_ends_the_call_without_retrying(nats_url, ingress_database_url, nc, ingress_pool):
    command = _vendor_call()
    async with dial_setup(nats_url, ingress_database_url, nc) as (emulator, svc, durable, _):
        emulator.fail_next(400, 21215, "Account not authorized to call +15550201001")
        await publish_dial(nc, command)
        assert await wait_for(lambda: _drained(nc, durable))
        await publish_dial(nc, command)  # a later duplicate must not dial either
        assert await wait_for(lambda: _drained(nc, durable))
        # The emulator consumed the injected failure (one request) and got no other create.
        assert emulator.failures == [] and _creates(emulator) == [] and emulator.calls == {}
    row = await ingress_pool.fetchrow("SELECT * FROM calls WHERE id = $1", command.call_id)
    assert (row["dial_state"], row["status"], row["end_reason"]) == ("failed", "failed", "dial_failed")
    assert "21215" in row["dial_error"]
    events = await events_for_call(nc, "p1", command.call_id, want=2)
    assert [type(e) for e in events] == [CallStarted, CallEnded]
    assert events[1].reason.startswith("dial_failed: 21215")


async def test_a_rate_limited_dial_is_retried_and_placed_once(nats_url, ingress_database_url, nc, ingress_pool):
    command = _vendor_call()
    async with dial_setup(nats_url, ingress_database_url, nc) as (emulator, svc, durable, _):
        emulator.fail_next(429, 20429, "Too Many Requests")
        await publish_dial(nc, command)

        async def placed():
            state = await ingress_pool.fetchval("SELECT dial_state FROM calls WHERE id = $1", command.call_id)
            return state == "placed"

        assert await wait_for(placed, timeout=8)
        # First request refused with 429 (consumed), then exactly one accepted create.
        assert emulator.failures == [] and len(_creates(emulator)) == 1 and len(emulator.calls) == 1


# --- the dial policy: refused numbers never reach Twilio ---------------------------------------------------------

PREMIUM_OR_FOREIGN = ["+19005550100", "+19765550100", "+447700900123", "+882345678901", "+1555010", "+15550201001\n"]


async def test_numbers_outside_the_dial_policy_never_reach_twilio(nats_url, ingress_database_url, nc, ingress_pool):
    commands = [DialCall(call_id=uuid.uuid4().hex, call_type="vendor", property_id="p1", to_number=number,
                         vendor_id="v-plumb-1") for number in PREMIUM_OR_FOREIGN]
    calls = await ingress_pool.fetchval("SELECT count(*) FROM calls")
    async with dial_setup(nats_url, ingress_database_url, nc) as (emulator, svc, durable, _):
        for command in commands:
            await publish_dial(nc, command)
        assert await wait_for(lambda: _drained(nc, durable))
        assert _creates(emulator) == [] and emulator.calls == {}
        assert f'ingress_dial_attempts_total{{outcome="rejected"}} {float(len(commands))}' in await _metrics(svc)
    assert await ingress_pool.fetchval("SELECT count(*) FROM calls") == calls
    for command in commands:
        events = await events_for_call(nc, "p1", command.call_id, want=1, timeout=2)
        assert [type(e) for e in events] == [CallEnded]
        assert events[0].reason.startswith("rejected: to_number refused by the dial policy")
        assert command.to_number not in events[0].reason


async def test_a_call_row_with_a_premium_number_is_not_dialled_either(nats_url, ingress_database_url, nc,
                                                                      ingress_pool):
    """Whatever wrote the row (a bug, a migration, a hand edit), the dialer checks the number it would dial."""
    command = _vendor_call()
    await ingress_pool.execute(
        "INSERT INTO calls (id, property_id, call_type, direction, from_number, to_number, vendor_id, status,"
        " dial_state) VALUES ($1, 'p1', 'vendor', 'outbound', '+15550100001', '+19005550100', 'v-plumb-1',"
        " 'queued', 'pending')", command.call_id)
    async with dial_setup(nats_url, ingress_database_url, nc) as (emulator, svc, durable, _):
        await publish_dial(nc, command)
        assert await wait_for(lambda: _drained(nc, durable))
        assert _creates(emulator) == [] and emulator.calls == {}
    row = await ingress_pool.fetchrow("SELECT * FROM calls WHERE id = $1", command.call_id)
    assert (row["dial_state"], row["status"], row["end_reason"]) == ("failed", "failed", "dial_failed")
    events = await events_for_call(nc, "p1", command.call_id, want=1)
    assert [type(e) for e in events] == [CallEnded] and "dial policy" in events[0].reason


async def test_a_durable_from_an_older_release_gets_this_releases_ack_wait(nats_url, ingress_database_url, nc):
    from services.ingress.dialer import ACK_WAIT_S
    async with dialer_ingress(nats_url, ingress_database_url, nc, "http://127.0.0.1:1") as (_, durable):
        async def ack_wait() -> float:
            return (await nc.jetstream().consumer_info(subjects.CALLS_STREAM, durable)).config.ack_wait
        assert await wait_for(lambda: _is(ack_wait, ACK_WAIT_S)), "the dialer's durable keeps an old ack wait"


async def _is(read, wanted) -> bool:
    return await read() == wanted
