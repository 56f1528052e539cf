"""Call status and stream status callbacks: idempotent, out-of-order tolerant, events in JetStream."""

from fixline_proto.events import CallEnded, CallStarted, CallStatusChanged, CallStreamChanged
from tests.ingress.conftest import events_for_call, new_sid, report_capacity

STREAM_SID = "MZ" + "ab" * 16


async def _admitted_call(twilio, ingress, nc, ingress_pool, number: str):
    await report_capacity(nc, ingress, active=0, max_calls=50)
    sid = new_sid()
    assert "<Connect>" in (await twilio.voice(sid, to=number))[1]
    return sid, await ingress_pool.fetchrow("SELECT * FROM calls WHERE twilio_call_sid = $1", sid)


async def _status(twilio, sid: str, status: str, seq: int | None, query: str = "", **extra: str) -> int:
    params = {"CallSid": sid, "CallStatus": status, "CallbackSource": "call-progress-events", **extra}
    if seq is not None:
        params["SequenceNumber"] = str(seq)
    code, _ = await twilio.post("/twilio/status" + query, params)
    return code


async def test_callbacks_in_any_order_only_move_the_call_forward(twilio, ingress, nc, ingress_pool, prop,
                                                                 no_open_calls):
    property_id, number = prop
    sid, call = await _admitted_call(twilio, ingress, nc, ingress_pool, number)
    assert await _status(twilio, sid, "in-progress", 1, AnsweredBy="human") == 204
    assert await _status(twilio, sid, "completed", 3, CallDuration="42") == 204
    assert await _status(twilio, sid, "ringing", 0) == 204        # late
    assert await _status(twilio, sid, "in-progress", 2) == 204    # later sequence, but backwards
    assert await _status(twilio, sid, "completed", 3, CallDuration="42") == 204  # retried
    row = await ingress_pool.fetchrow("SELECT * FROM calls WHERE id = $1", call["id"])
    assert (row["status"], row["last_sequence"], row["answered_by"], row["end_reason"]) == (
        "completed", 3, "human", "completed")
    assert row["started_at"] is not None and row["ended_at"] is not None
    events = await events_for_call(nc, property_id, call["id"], want=4)
    assert [type(e).__name__ for e in events] == ["CallStarted", "CallStatusChanged", "CallStatusChanged",
                                                  "CallEnded"]
    assert [(e.status, e.sequence) for e in events if isinstance(e, CallStatusChanged)] == [
        ("in-progress", 1), ("completed", 3)]
    assert events[-1].reason == "completed" and events[-1].duration_s == 42.0


async def test_duplicate_sequence_numbers_are_ignored(twilio, ingress, nc, ingress_pool, prop, no_open_calls):
    property_id, number = prop
    sid, call = await _admitted_call(twilio, ingress, nc, ingress_pool, number)
    for _ in range(3):
        assert await _status(twilio, sid, "in-progress", 4) == 204
    assert await _status(twilio, sid, "busy", 4) == 204  # same sequence number: a replay, whatever it says
    row = await ingress_pool.fetchrow("SELECT status, last_sequence, ended_at FROM calls WHERE id = $1", call["id"])
    assert (row["status"], row["last_sequence"], row["ended_at"]) == ("in-progress", 4, None)
    events = await events_for_call(nc, property_id, call["id"], want=2)
    assert [type(e) for e in events] == [CallStarted, CallStatusChanged]


async def test_terminal_failure_statuses_end_the_call_once(twilio, ingress, nc, ingress_pool, prop, no_open_calls):
    property_id, number = prop
    sid, call = await _admitted_call(twilio, ingress, nc, ingress_pool, number)
    assert await _status(twilio, sid, "no-answer", 2) == 204
    assert await _status(twilio, sid, "completed", 5) == 204  # terminal wins: no second end
    events = await events_for_call(nc, property_id, call["id"], want=3)
    assert [type(e) for e in events] == [CallStarted, CallStatusChanged, CallEnded]
    assert events[-1].reason == "no-answer"
    assert await ingress_pool.fetchval("SELECT status FROM calls WHERE id = $1", call["id"]) == "no-answer"


async def test_stream_status_is_recorded_once_per_step(twilio, ingress, nc, ingress_pool, prop, no_open_calls):
    property_id, number = prop
    sid, call = await _admitted_call(twilio, ingress, nc, ingress_pool, number)
    query = f"?call_id={call['id']}"
    for _ in range(2):
        code, _ = await twilio.post("/twilio/stream-status" + query, {
            "CallSid": sid, "StreamSid": STREAM_SID, "StreamEvent": "stream-started", "StreamName": call["id"]})
        assert code == 204
    code, _ = await twilio.post("/twilio/stream-status" + query, {
        "CallSid": sid, "StreamSid": STREAM_SID, "StreamEvent": "stream-error", "StreamError": "handshake 31920"})
    assert code == 204
    row = await ingress_pool.fetchrow("SELECT * FROM calls WHERE id = $1", call["id"])
    assert (row["stream_sid"], row["stream_error"]) == (STREAM_SID, "handshake 31920")
    assert row["stream_started_at"] is not None and row["stream_stopped_at"] is None
    events = [e for e in await events_for_call(nc, property_id, call["id"], want=3)
              if isinstance(e, CallStreamChanged)]
    assert [(e.stream_event, e.error) for e in events] == [("stream-started", ""),
                                                          ("stream-error", "handshake 31920")]


async def test_callbacks_for_unknown_calls_are_acknowledged_and_store_nothing(twilio, ingress_pool):
    before = await ingress_pool.fetchval("SELECT count(*) FROM outbox")
    sid = new_sid()
    assert await _status(twilio, sid, "completed", 1) == 204
    code, _ = await twilio.post("/twilio/stream-status", {"CallSid": sid, "StreamEvent": "stream-stopped"})
    assert code == 204
    assert await ingress_pool.fetchval("SELECT count(*) FROM calls WHERE twilio_call_sid = $1", sid) == 0
    assert await ingress_pool.fetchval("SELECT count(*) FROM outbox") == before


async def test_malformed_signed_callbacks_are_bad_requests_and_change_nothing(twilio, ingress, nc, ingress_pool,
                                                                               prop, no_open_calls):
    sid, call = await _admitted_call(twilio, ingress, nc, ingress_pool, prop[1])
    assert await _status(twilio, sid, "completed", None, SequenceNumber="seven") == 400
    code, body = await twilio.post("/twilio/stream-status", {"CallSid": sid, "StreamEvent": "stream-exploded"})
    assert (code, body) == (400, "StreamEvent is not one of stream-started, stream-stopped, stream-error")
    assert await twilio.post("/twilio/status", {"CallSid": sid}) == (400, "missing CallStatus")
    row = await ingress_pool.fetchrow("SELECT * FROM calls WHERE id = $1", call["id"])
    assert row == call
