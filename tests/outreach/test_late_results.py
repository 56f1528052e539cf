"""A crash leaves call results in flight: the process that died had fetched them from the
durable results consumer without acking, so JetStream redelivers them only after the ack wait
(30 s) -- after the hang-ups that came later and after the grace a call waits for its record.
The record is in the database all along (the tools wrote it before publishing the event), and
the call workflow reads it from there: the vendor's quote still counts, nobody is phoned again."""

from __future__ import annotations

from nats.js.api import ConsumerConfig

from fixline_proto import subjects
from fixline_proto.codec import EVENT_DECODER
from fixline_proto.events import DecisionMade, QuoteReceived

from .conftest import outreach
from .harness import World


async def _taken_by_a_dying_process(world: World, settings, kind: type, count: int) -> None:
    """Fetch ``count`` events of ``kind`` from outreach's durable results consumer and never
    ack them, as a process SIGKILLed right after its fetch would."""
    sub = await world.js.pull_subscribe_bind(durable=settings.outreach_results_consumer,
                                             stream=subjects.EVENTS_STREAM)
    taken = 0
    while taken < count:
        for msg in await sub.fetch(1, timeout=10):
            if isinstance(EVENT_DECODER.decode(msg.data), kind):
                taken += 1
            else:
                await msg.ack()  # not what the crash is about: handled by nobody, fine here
    await sub.unsubscribe()


async def _consumer_holds_unacked(world: World, settings) -> int:
    info = await world.js.consumer_info(subjects.EVENTS_STREAM, settings.outreach_results_consumer)
    assert isinstance(info.config, ConsumerConfig) and info.config.ack_wait >= 30  # what makes the event late
    return info.num_ack_pending


async def test_quotes_in_flight_at_a_crash_still_count(world: World, outreach_settings):
    settings = outreach_settings()
    async with outreach(settings):
        incident_id, _ = await world.open_incident("p1", "plumbing")
        vendors = {d.vendor_id: d for d in await world.wait_dials(incident_id, "vendor", 2)}
    # down: both plumbers quote; the dying process had fetched both QuoteReceived
    await world.vendor_quotes(vendors["v-plumb-1"], price=240.0, in_hours=3)
    await world.vendor_quotes(vendors["v-plumb-2"], price=180.0, in_hours=5)
    await _taken_by_a_dying_process(world, settings, QuoteReceived, 2)
    assert await _consumer_holds_unacked(world, settings) == 2

    async with outreach(settings):
        for dial in vendors.values():
            await world.hang_up(dial)  # delivered at once; the quotes only after the ack wait
        (landlord,) = await world.wait_dials(incident_id, "landlord", 1, timeout=20)
        assert "240.00" in landlord.briefing and "180.00" in landlord.briefing
        assert world.stages(incident_id).count("quote_received") == 2
        assert len(world.dials_of(incident_id, "vendor")) == 2  # no replacement for a vendor who quoted


async def test_a_decision_in_flight_at_a_crash_is_not_asked_again(world: World, outreach_settings):
    settings = outreach_settings(outreach_retry_delay_s=1.0, outreach_landlord_attempts=2)
    async with outreach(settings):
        incident_id, _ = await world.open_incident("p1", "plumbing")
        vendors = await world.wait_dials(incident_id, "vendor", 2)
        for dial in vendors:
            await world.vendor_quotes(dial, price=200.0, in_hours=4)
            await world.hang_up(dial)
        (landlord,) = await world.wait_dials(incident_id, "landlord", 1, timeout=20)
        recommended = await world.wait_stage(incident_id, "recommended")
    await world.landlord_decides(landlord, approved=True, vendor_id=recommended.vendor_id)
    await _taken_by_a_dying_process(world, settings, DecisionMade, 1)

    async with outreach(settings):
        await world.hang_up(landlord)
        (guest,) = await world.wait_dials(incident_id, "guest", 1, timeout=20)
        await world.hang_up(guest)
        await world.wait_stage(incident_id, "done")
    assert len(world.dials_of(incident_id, "landlord")) == 1  # the owner is not phoned a second time
