"""Calls that ended while ingress was down: Twilio sent their status callbacks to a dead process
and does not retry them, so without this they would stay open for good (a phantom live call,
and outreach waiting for a hang-up until its timeout). At start, each call still open that
Twilio knows (it has a sid) is fetched from the REST API; a call Twilio has ended is ended
here as its callback would have ended it (``callbacks.on_call_status``: CallEnded once)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import aiohttp
import asyncpg
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from . import call_status
from .callbacks import StatusCallback, on_call_status

log = logging.getLogger(__name__)
LOOKBACK = "1 day"  # older open calls are left to a person (Twilio ends every call within hours)


async def open_calls(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await pool.fetch(
        "SELECT id, twilio_call_sid FROM calls WHERE ended_at IS NULL AND twilio_call_sid IS NOT NULL"
        f" AND created_at > now() - interval '{LOOKBACK}' ORDER BY created_at")
    return rows


async def end_calls_twilio_ended(pool: asyncpg.Pool, client: Client) -> int:
    """End the open calls Twilio has ended; how many were ended."""
    ended = 0
    for call in await open_calls(pool):
        try:
            fetched = await client.calls(call["twilio_call_sid"]).fetch_async()
        except (TwilioRestException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("could not fetch an open call from Twilio", extra={"call_id": call["id"], "error": str(exc)})
            continue
        if fetched.status not in call_status.TERMINAL:
            continue  # still going: its own callbacks will end it
        callback = StatusCallback(sid=call["twilio_call_sid"], status=fetched.status, sequence=None,
                                  answered_by=fetched.answered_by, duration_s=float(fetched.duration or 0),
                                  call_id=call["id"])
        if await on_call_status(pool, callback, datetime.now(UTC)) == "applied":
            ended += 1
            log.info("call ended while ingress was down", extra={"call_id": call["id"], "status": fetched.status})
    return ended
