"""``RECORDING_RETENTION_DAYS``: recordings older than this are deleted at Twilio (REST DELETE)
and marked ``deleted_at`` here. A recording Twilio no longer has (404) counts as deleted; any
other failure leaves it for the next sweep (every ``RECORDING_SWEEP_INTERVAL_S``)."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import asyncpg
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from . import recordings_repo

log = logging.getLogger(__name__)


async def delete_expired(pool: asyncpg.Pool, client: Client, retention_days: int) -> int:
    """One sweep; how many recordings were deleted."""
    deleted = 0
    for row in await recordings_repo.expired(pool, retention_days):
        try:
            await client.recordings(row["sid"]).delete_async()
        except TwilioRestException as exc:
            if exc.status != 404:
                log.warning("could not delete an expired recording", extra={"call_id": row["call_id"],
                                                                            "error": str(exc)})
                continue
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("could not delete an expired recording", extra={"call_id": row["call_id"],
                                                                        "error": str(exc)})
            continue
        await recordings_repo.mark_deleted(pool, row["sid"])
        deleted += 1
    if deleted:
        log.info("expired recordings deleted", extra={"count": deleted})
    return deleted


async def sweep_forever(pool: asyncpg.Pool, client: Client, retention_days: int, interval_s: float) -> None:
    while True:
        try:
            await delete_expired(pool, client, retention_days)
        except Exception as exc:  # noqa: BLE001 - a periodic sweep outlives one bad round
            log.warning("recording retention sweep failed", extra={"error": type(exc).__name__})
        await asyncio.sleep(interval_s)
