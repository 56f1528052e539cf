"""Starts a dual-channel Twilio recording on a live call whose property has recording on.

Started through the REST API (``Calls/{sid}/Recordings.json``) once the call's media stream has
started — the call is then ``in-progress``, which Twilio requires. The recording status
callbacks (``/twilio/recording-status?call_id=…``) keep the row in step from then on. A failed
start is logged and counted; the call goes on unrecorded.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import aiohttp
import asyncpg
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from services.common.tasks import TaskSet

from . import recordings_repo
from .metrics import IngressMetrics
from .recordings_repo import RecordingRow

log = logging.getLogger(__name__)
CALLBACK_EVENTS = ["in-progress", "completed", "absent"]


class Recorder:
    def __init__(self, pool: asyncpg.Pool, client: Client, public_base_url: str, metrics: IngressMetrics,
                 tasks: TaskSet) -> None:
        self.pool = pool
        self.client = client
        self.callback_url = public_base_url.rstrip("/") + "/twilio/recording-status"
        self.metrics = metrics
        self.tasks = tasks

    def stream_started(self, call_id: str) -> None:
        """Called by the stream-started callback; the REST call runs beside the webhook answer."""
        self.tasks.spawn(self.start(call_id), name=f"record-{call_id}")

    async def start(self, call_id: str) -> str:
        """Start recording ``call_id`` if its property wants it; the outcome (for metrics and tests)."""
        async with self.pool.acquire() as conn:
            call = await recordings_repo.recordable_call(conn, call_id)
        if call is None:
            return "not_recorded"
        try:
            rec = await self.client.calls(call["twilio_call_sid"]).recordings.create_async(
                recording_channels="dual", recording_status_callback_method="POST",
                recording_status_callback=f"{self.callback_url}?{urlencode({'call_id': call_id})}",
                recording_status_callback_event=CALLBACK_EVENTS)
        except (TwilioRestException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            self.metrics.recordings.labels("start_failed").inc()
            log.warning("could not start the call recording", extra={"call_id": call_id, "error": str(exc)})
            return "start_failed"
        async with self.pool.acquire() as conn:
            await recordings_repo.upsert(conn, RecordingRow(sid=rec.sid, call_id=call_id, status=rec.status or
                                                            "in-progress", channels=int(rec.channels or 2)))
        self.metrics.recordings.labels("started").inc()
        log.info("call recording started", extra={"call_id": call_id})
        return "started"
