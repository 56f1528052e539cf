"""Call recordings against the Twilio emulator through the real SDK: a property with recording
on gets the spoken notice and a dual-channel recording started on the live call; the signed
recording status callbacks are stored; expired recordings are deleted at Twilio and here.
Forged and malformed callbacks are refused with nothing changed."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

from emulators.twilio import TwilioEmulator
from services.ingress.recording_retention import delete_expired
from services.ingress.twilio_rest import create_client
from tests.emulators.agent_app import AgentApp, StreamCtx
from tests.ingress.conftest import AUTH_TOKEN, ingress_running, new_sid, report_capacity
from tests.ingress.test_dialer import ACCOUNT_SID, _free_port, wait_for
from tests.support.services import settings_for


async def _speak(ctx: StreamCtx) -> None:
    await ctx.next_event("start")
    await ctx.send_audio("Hello, you are through to the property line.")
    await asyncio.sleep(10)


@contextlib.asynccontextmanager
async def recording_setup(nats_url, database_url, nc) -> AsyncIterator[tuple[TwilioEmulator, str]]:
    """The emulator, an ingress on a known port with its REST client pointed at it, and a
    websocket peer standing in for the bridge (the media stream must start for a recording)."""
    emulator = await TwilioEmulator(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, ring_s=0.05,
                                    verb_time_scale=0.01).start()
    port = _free_port()
    try:
        async with AgentApp(AUTH_TOKEN, on_stream=_speak) as bridge, ingress_running(
                nats_url, database_url, twilio_account_sid=ACCOUNT_SID, twilio_api_base_url=emulator.base_url,
                http_port=port, public_base_url=f"http://127.0.0.1:{port}", media_stream_url=bridge.ws_url,
                dialer_consumer=f"ingress-dialer-{uuid.uuid4().hex[:8]}") as svc:
            await report_capacity(nc, svc, active=0, max_calls=20)
            yield emulator, f"http://127.0.0.1:{port}"
    finally:
        await emulator.stop()


async def _recordings(pool, call_id: str) -> list[dict]:
    return [dict(r) for r in await pool.fetch("SELECT * FROM call_recordings WHERE call_id = $1", call_id)]


async def _answered_call(emulator: TwilioEmulator, pool, base: str, number: str):
    call = await emulator.place_inbound_call(to=number, from_="+15557770123", voice_url=f"{base}/twilio/voice")
    call_id = await wait_for(lambda: pool.fetchval("SELECT id FROM calls WHERE twilio_call_sid = $1", call.sid))
    assert call_id, "ingress never recorded the call"
    return call, call_id


async def test_recording_on_notice_start_callbacks_and_retention(nats_url, ingress_database_url, nc, ingress_pool,
                                                                prop, no_open_calls):
    property_id, number = prop
    await ingress_pool.execute("UPDATE properties SET recording_enabled = true WHERE id = $1", property_id)
    async with recording_setup(nats_url, ingress_database_url, nc) as (emulator, base):
        call, call_id = await _answered_call(emulator, ingress_pool, base, number)
        assert await wait_for(lambda: _recordings(ingress_pool, call_id), timeout=10)
        await asyncio.sleep(0.5)
        call.hang_up()
        await call.wait(10)

        async def completed() -> bool:
            rows = await _recordings(ingress_pool, call_id)
            return bool(rows) and rows[0]["status"] == "completed"
        assert await wait_for(completed, timeout=10)
        [row] = await _recordings(ingress_pool, call_id)
        [created] = [r for r in emulator.rest_requests if r[1].endswith(f"/Calls/{call.sid}/Recordings.json")]
        assert created[2]["RecordingChannels"] == "dual"
        assert created[2]["RecordingStatusCallback"] == f"{base}/twilio/recording-status?call_id={call_id}"
        said = [e.detail for e in call.timeline if e.kind == "say"]
        assert said and "recorded" in str(said[0])                  # the notice, before the stream
        assert row["channels"] == 2 and row["duration_s"] is not None and row["deleted_at"] is None
        assert row["media_url"].endswith(f"/Recordings/{row['sid']}")
        assert all(c["status"] == 204 for c in emulator.callback_log if c["kind"] == "recording")

        # retention: not yet expired -> kept; expired -> deleted at Twilio (REST DELETE) and marked here
        client, http = create_client(settings_for("ingress", twilio_account_sid=ACCOUNT_SID,
                                                  twilio_auth_token=AUTH_TOKEN, twilio_api_base_url=emulator.base_url))
        try:
            assert await delete_expired(ingress_pool, client, 30) == 0
            await ingress_pool.execute("UPDATE call_recordings SET created_at = now() - interval '31 days'"
                                       " WHERE call_id = $1", call_id)
            emulator.fail_next(500, 20500, "Internal Server Error")   # a failed DELETE is tried again next sweep
            assert await delete_expired(ingress_pool, client, 30) == 0
            assert (await _recordings(ingress_pool, call_id))[0]["deleted_at"] is None
            assert await delete_expired(ingress_pool, client, 30) == 1
            assert await delete_expired(ingress_pool, client, 30) == 0
        finally:
            await http.close()
    assert emulator.recordings.deleted == [row["sid"]]
    assert (await _recordings(ingress_pool, call_id))[0]["deleted_at"] is not None


async def test_recording_off_by_default_no_notice_no_recording(nats_url, ingress_database_url, nc, ingress_pool,
                                                              prop, no_open_calls):
    _, number = prop
    async with recording_setup(nats_url, ingress_database_url, nc) as (emulator, base):
        call, call_id = await _answered_call(emulator, ingress_pool, base, number)
        await wait_for(lambda: ingress_pool.fetchval(
            "SELECT stream_started_at IS NOT NULL FROM calls WHERE id = $1", call_id), timeout=10)
        await asyncio.sleep(0.5)
        call.hang_up()
        await call.wait(10)
    assert await _recordings(ingress_pool, call_id) == []
    assert not [r for r in emulator.rest_requests if "Recordings" in r[1]]
    assert not [e for e in call.timeline if e.kind == "say"]


async def test_notice_only_where_recording_is_on_and_a_notice_required(ingress_pool, prop, twilio, ingress, nc,
                                                                       no_open_calls):
    property_id, number = prop
    await report_capacity(nc, ingress, active=0, max_calls=20)
    update = "UPDATE properties SET recording_enabled = $2, recording_notice = $3 WHERE id = $1"
    answers = {}
    for enabled, notice in ((True, True), (True, False), (False, True)):
        await ingress_pool.execute(update, property_id, enabled, notice)
        status, answers[enabled, notice] = await twilio.voice(new_sid(), to=number)
        assert status == 200 and "<Connect>" in answers[enabled, notice]
    assert answers[True, True].index("<Say") < answers[True, True].index("<Connect>")
    assert "recorded" in answers[True, True]
    assert "<Say" not in answers[True, False] and "<Say" not in answers[False, True]


def _callback(call_sid: str, recording_sid: str, status: str = "completed", **extra: str) -> dict[str, str]:
    return {"AccountSid": ACCOUNT_SID, "CallSid": call_sid, "RecordingSid": recording_sid,
            "RecordingStatus": status, "RecordingDuration": "12", "RecordingChannels": "2",
            "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording_sid}",
            "RecordingSource": "StartCallRecordingAPI", "ErrorCode": "0", **extra}


async def _call_row(pool, property_id: str, number: str) -> tuple[str, str]:
    call_id, sid = uuid.uuid4().hex, new_sid()
    await pool.execute("INSERT INTO calls (id, twilio_call_sid, property_id, call_type, direction, from_number,"
                       " to_number, status, ended_at) VALUES ($1, $2, $3, 'guest', 'inbound', '+15557770000', $4,"
                       " 'completed', now())", call_id, sid, property_id, number)
    return call_id, sid


async def test_forged_and_malformed_recording_callbacks_change_nothing(twilio, ingress_pool, prop):
    property_id, number = prop
    call_id, sid = await _call_row(ingress_pool, property_id, number)
    other_id, other_sid = await _call_row(ingress_pool, property_id, number)
    rec_sid = "RE" + uuid.uuid4().hex
    path = f"/twilio/recording-status?call_id={call_id}"
    before = await ingress_pool.fetchval("SELECT count(*) FROM call_recordings")
    forged = twilio.sign(path, _callback(sid, rec_sid, "in-progress"))  # signed for other fields
    assert (await twilio.post(path, _callback(sid, rec_sid), signature=forged))[0] == 403
    assert (await twilio.post(path, _callback(sid, rec_sid), signature=""))[0] == 403
    bad = {"RecordingSid": "RE123", "RecordingStatus": "exploded", "RecordingDuration": "nan",
           "RecordingChannels": "3", "RecordingUrl": "javascript:alert(1)", "CallSid": "CAxyz"}
    for name, value in bad.items():
        status, text = await twilio.post(path, _callback(sid, rec_sid, **{name: value}))
        assert status == 400 and name in text, (name, text)
    # the CallSid of another call than the one in the signed URL: ignored
    assert (await twilio.post(path, _callback(other_sid, rec_sid)))[0] == 204
    assert await ingress_pool.fetchval("SELECT count(*) FROM call_recordings") == before

    # a genuine one is stored; a late in-progress never moves it back; its sid cannot move to another call
    assert (await twilio.post(path, _callback(sid, rec_sid)))[0] == 204
    assert (await twilio.post(path, _callback(sid, rec_sid, "in-progress", RecordingDuration="-1")))[0] == 204
    other_path = f"/twilio/recording-status?call_id={other_id}"
    assert (await twilio.post(other_path, _callback(other_sid, rec_sid, "failed", RecordingDuration="99",
                                                         ErrorCode="13617")))[0] == 204
    [row] = await _recordings(ingress_pool, call_id)
    assert (row["sid"], row["status"], row["duration_s"], row["channels"], row["error_code"]) == \
        (rec_sid, "completed", 12, 2, "")
    assert await _recordings(ingress_pool, other_id) == []

