"""Calls that Twilio ended while ingress was down (its callbacks went to a dead process and are
not retried) are ended when ingress starts again; a call Twilio does not know is left alone."""

import uuid

from emulators.twilio import TwilioEmulator
from services.ingress import calls_repo
from services.ingress.twilio_rest import create_client
from tests.ingress.conftest import AUTH_TOKEN, events_for_call
from tests.ingress.test_dialer import ACCOUNT_SID, _free_port, dialer_ingress, wait_for
from tests.support.services import settings_for


async def _placed_call(pool, property_id: str, number: str, sid: str) -> str:
    """The row the dialer wrote for a call it placed (claimed, then bound to Twilio's sid)."""
    call_id = uuid.uuid4().hex
    async with pool.acquire() as conn:
        await calls_repo.insert_outbound(conn, call_id=call_id, call_type="vendor", property_id=property_id,
                                         incident_id=None, vendor_id="v-plumb-1", landlord_id=None,
                                         from_number=number, to_number="+15550201001", briefing="")
        await calls_repo.claim_dial(conn, call_id)
        await calls_repo.mark_placed(conn, call_id, sid)
    return call_id


async def test_a_call_twilio_ended_while_ingress_was_down_is_ended_at_start(nats_url, ingress_database_url, nc,
                                                                           ingress_pool, prop):
    property_id, number = prop
    emulator = await TwilioEmulator(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, ring_s=0.05,
                                    verb_time_scale=0.01).start()
    dead = f"http://127.0.0.1:{_free_port()}"  # ingress is down: the TwiML fetch and every callback fail
    client, http = create_client(settings_for("ingress", twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN,
                                              twilio_api_base_url=emulator.base_url))
    try:
        created = await client.calls.create_async(to="+15550201001", from_=number, url=f"{dead}/twilio/voice",
                                                  status_callback=f"{dead}/twilio/status",
                                                  status_callback_event=["initiated", "completed"])
        twilio_call = await emulator.calls[created.sid].wait(10)
        assert twilio_call.status == "completed" and twilio_call.callbacks  # sent, to nobody
        ended_while_down = await _placed_call(ingress_pool, property_id, number, created.sid)
        unknown_to_twilio = await _placed_call(ingress_pool, property_id, number, "CA" + uuid.uuid4().hex)

        async with dialer_ingress(nats_url, ingress_database_url, nc, emulator.base_url):
            async def ended() -> bool:
                return await ingress_pool.fetchval("SELECT ended_at IS NOT NULL FROM calls WHERE id = $1",
                                                   ended_while_down)
            assert await wait_for(ended, timeout=10)
        row = await ingress_pool.fetchrow("SELECT status, ended_at FROM calls WHERE id = $1", ended_while_down)
        assert row["status"] == "completed"
        events = await events_for_call(nc, property_id, ended_while_down, want=2)
        assert [type(e).__name__ for e in events].count("CallEnded") == 1
        # a sid Twilio answers 404 for: nothing is made up, the call stays as it was
        assert await ingress_pool.fetchval("SELECT ended_at FROM calls WHERE id = $1", unknown_to_twilio) is None
        assert await events_for_call(nc, property_id, unknown_to_twilio, want=1, timeout=0.5) == []
    finally:
        await ingress_pool.execute("UPDATE calls SET ended_at = now() WHERE property_id = $1 AND ended_at IS NULL",
                                   property_id)  # admission counts open calls: leave none behind
        await http.close()
        await emulator.stop()
