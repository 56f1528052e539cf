"""``POST /twilio/recording-status``: Twilio's recording status callbacks, stored in
``call_recordings`` (idempotent: repeats and late arrivals never move a terminal status back).
A callback for a call we never recorded is acknowledged and ignored; one whose RecordingSid is
already bound to another call changes nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import asyncpg

from services.common.logs import log_context

from . import recordings_repo
from .callbacks import _find
from .recordings_repo import RecordingRow

log = logging.getLogger(__name__)
RECORDING_STATUSES = ("in-progress", "paused", "stopped", "processing", "completed", "absent", "failed")


@dataclass(frozen=True)
class RecordingCallback:
    sid: str              # CallSid
    recording_sid: str
    status: str
    duration_s: int | None
    channels: int
    url: str
    error_code: str
    call_id: str | None


async def on_recording_status(pool: asyncpg.Pool, cb: RecordingCallback) -> str:
    async with pool.acquire() as conn, conn.transaction():
        call = await _find(conn, cb.call_id, cb.sid)
        if call is None or call["twilio_call_sid"] != cb.sid:
            return "unknown_call"
        with log_context(call_id=call["id"]):
            written = await recordings_repo.upsert(conn, RecordingRow(
                sid=cb.recording_sid, call_id=call["id"], status=cb.status, channels=cb.channels,
                duration_s=cb.duration_s, media_url=cb.url, error_code=cb.error_code))
            if not written:
                log.warning("recording callback for a recording of another call; ignored")
                return "ignored"
            log.info("recording status", extra={"status": cb.status})
            return "applied"
