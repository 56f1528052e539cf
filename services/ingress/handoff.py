"""Warm hand-off webhooks: the whisper the person picking up hears, and the Dial's result.

The bridge redirects the caller to ``<Dial action=RESULT><Number url=WHISPER>`` (see
``services/bridge/handoff.py``). Both requests are Twilio-signed like every webhook (403
otherwise, nothing read or written), and must name the call they belong to:

- ``POST /twilio/handoff/whisper?call_id&summary&leg`` (summary base64url): the dialled person answered. Its
  ``ParentCallSid`` must be the call's CallSid. Answer: ``<Say>`` of the summary (played to
  that person only, before the caller is bridged); stage ``answered``.
- ``POST /twilio/handoff/result?call_id&to&leg``: the Dial is over. Its ``CallSid`` must be
  the call's. ``DialCallStatus`` completed/answered: stage ``completed``, ``<Hangup/>``.
  no-answer/busy/failed/canceled: stage ``unanswered`` and the caller goes back to the agent
  on a fresh stream (a new token, ``stream_leg`` + 1, the briefing "the manager did not
  answer; offer a call-back"); after ``MAX_RETURNS`` returns, an apology and a hang-up.

Each stage is recorded once per call and leg (``call_handoffs``), so a retried webhook
publishes no second ``CallHandoff``.
"""

from __future__ import annotations

import base64
import logging
import re
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import msgspec
from twilio.twiml.voice_response import VoiceResponse

from fixline_proto.events import CallHandoff
from services.common import outbox

from . import calls_repo, twiml
from .fields import CALL_SID, CONTROL, PHONE, BadWebhook, Fields, _call_id, _check, _matching, _required, check_all
from .voice import VoiceHandler, call_claims

log = logging.getLogger(__name__)
ANSWERED = frozenset({"completed", "answered"})
UNANSWERED = frozenset({"no-answer", "busy", "failed", "canceled"})
MAX_RETURNS = 3
SUMMARY_MAX_CHARS = 200
LEG = re.compile(r"[0-9]{1,2}")
SUMMARY_B64 = re.compile(r"[A-Za-z0-9_-]{1,800}")
RETURN_BRIEFING = ("The caller asked for a person and was transferred to the property manager, who did not answer "
                   "({status}). The caller is back with you: say so in one sentence, then offer a call-back from "
                   "the team (schedule_callback) or to keep helping them yourself.")
NOBODY_MESSAGE = "Sorry, nobody could take your call right now. Please call again later. Goodbye."


@dataclass(frozen=True)
class Whisper:
    call_id: str
    parent_sid: str
    summary: str
    leg: int


@dataclass(frozen=True)
class DialResult:
    call_id: str
    sid: str
    dial_status: str
    to_number: str
    leg: int


def whisper_request(form: Fields, query: Fields) -> Whisper:
    check_all(form, query)
    call_id = _call_id(query)
    if call_id is None:
        raise BadWebhook("missing call_id")
    summary = " ".join(_decode_summary(_required(query, "summary")).split())
    if len(summary) > SUMMARY_MAX_CHARS:
        raise BadWebhook(f"summary is longer than {SUMMARY_MAX_CHARS} characters")
    parent = _matching(form, "ParentCallSid", CALL_SID, "a Twilio call SID (CA + 32 hex digits)")
    return Whisper(call_id=call_id, parent_sid=parent, summary=summary, leg=_leg(query))


def dial_result(form: Fields, query: Fields) -> DialResult:
    check_all(form, query)
    call_id = _call_id(query)
    if call_id is None:
        raise BadWebhook("missing call_id")
    status = _required(form, "DialCallStatus")
    if status not in ANSWERED | UNANSWERED:
        raise BadWebhook("DialCallStatus is not a Dial status")
    return DialResult(call_id=call_id, sid=_matching(form, "CallSid", CALL_SID, "a Twilio call SID"),
                      dial_status=status, to_number=_matching(query, "to", PHONE, "an E.164 phone number"),
                      leg=_leg(query))


def _decode_summary(value: str) -> str:
    """The bridge's base64url summary (``services.bridge.handoff.encode_summary``)."""
    if len(value) > SUMMARY_MAX_CHARS * 2 or not SUMMARY_B64.fullmatch(value):
        raise BadWebhook("summary is not base64url")
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise BadWebhook("summary is not base64url text") from None
    if CONTROL.search(text):
        raise BadWebhook("summary contains control characters")
    return text


def _leg(query: Fields) -> int:
    return int(_check("leg", _required(query, "leg"), LEG, "a stream leg"))


class HandoffWebhooks:
    def __init__(self, pool: asyncpg.Pool, voice: VoiceHandler) -> None:
        self.pool, self.voice = pool, voice

    async def whisper(self, req: Whisper, now: datetime) -> tuple[str, str]:
        async with self.pool.acquire() as conn, conn.transaction():
            call = await self._call(conn, req.call_id, req.parent_sid)
            if call is None:
                return _hang_up(), "unknown_call"
            await _record(conn, call, "answered", req.leg, now, summary=req.summary)
        response = VoiceResponse()
        response.say(req.summary, voice=twiml.VOICE, language=twiml.LANGUAGE)
        return str(response), "whisper"

    async def result(self, req: DialResult, now: datetime) -> tuple[str, str]:
        async with self.pool.acquire() as conn, conn.transaction():
            call = await self._call(conn, req.call_id, req.sid)
            if call is None:
                return _hang_up(), "unknown_call"
            answered = req.dial_status in ANSWERED
            await _record(conn, call, "completed" if answered else "unanswered", req.leg, now,
                          to_number=req.to_number, dial_status=req.dial_status)
            if answered:
                return _hang_up(), "handoff_completed"
            if req.leg + 1 > MAX_RETURNS:
                return twiml.say_and_hang_up(NOBODY_MESSAGE), "handoff_gave_up"
            claims = msgspec.structs.replace(await call_claims(conn, call), stream_leg=req.leg + 1,
                                             briefing=RETURN_BRIEFING.format(status=req.dial_status))
        return self.voice.stream_twiml(call, claims), "handoff_returned"

    async def _call(self, conn: asyncpg.Connection, call_id: str, sid: str) -> asyncpg.Record | None:
        call = await calls_repo.by_id(conn, call_id, lock=True)
        if call is None or call["twilio_call_sid"] != sid:
            log.warning("hand-off webhook for an unknown call or another CallSid; refused",
                        extra={"call_id": call_id[:64]})
            return None
        return call


async def _record(conn: asyncpg.Connection, call: asyncpg.Record, stage: str, leg: int, now: datetime, *,
                  to_number: str = "", dial_status: str = "", summary: str = "") -> None:
    """The stage once per call and leg; its ``CallHandoff`` through the outbox with it."""
    inserted = await conn.fetchval(
        "INSERT INTO call_handoffs (call_id, leg, stage, to_number, dial_status, at) VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT DO NOTHING RETURNING true", call["id"], leg, stage, to_number, dial_status, now)
    if inserted:
        await outbox.add(conn, CallHandoff(
            property_id=call["property_id"], call_id=call["id"], stage=stage,  # type: ignore[arg-type]
            to_number=to_number, summary=summary, dial_status=dial_status, incident_id=call["incident_id"]))


def _hang_up() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)
