"""POSTs each end-of-call report to ``REPORT_WEBHOOK_URL``, the way Stripe and Retell sign theirs.

* Body: the ``call.report`` event JSON, byte for byte as stored.
* ``Fixline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`` — the
  receiver recomputes it (``verify``) and refuses old timestamps (replays).
* ``Idempotency-Key`` / ``Fixline-Report-Id``: the report id, the same on every attempt.
* A non-2xx answer or a transport error is retried with doubling back-off (``REPORT_WEBHOOK_BACKOFF_S``,
  at most 10 minutes) up to ``REPORT_WEBHOOK_MAX_ATTEMPTS``. The state lives in
  ``call_report_deliveries``: a delivered report is never sent again, also after a restart. A
  crash between the receiver's 2xx and our bookkeeping sends it once more, with the same key.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from typing import Any

import aiohttp
import asyncpg

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "Fixline-Signature"
MAX_BACKOFF_S = 600.0
LEASE_S = 60.0                 # a claimed delivery is not claimed again for this long
REQUEST_TIMEOUT_S = 10.0
DEFAULT_TOLERANCE_S = 300.0


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, now: float | None = None,
           tolerance_s: float = DEFAULT_TOLERANCE_S) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs((now or time.time()) - timestamp) > tolerance_s:
        return False
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


class WebhookSender:
    def __init__(self, pool: asyncpg.Pool, url: str, secret: str, *, max_attempts: int = 8,
                 backoff_s: float = 2.0, poll_s: float = 1.0, counter: Any = None) -> None:
        if not secret:
            raise ValueError("REPORT_WEBHOOK_SECRET is required when REPORT_WEBHOOK_URL is set")
        self.pool, self.url, self.secret = pool, url, secret
        self.max_attempts, self.backoff_s, self.poll_s = max_attempts, backoff_s, poll_s
        self.counter = counter     # prometheus Counter labelled (result), optional

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError,
                                         asyncio.TimeoutError):
                    while await self.send_due(http):
                        pass
                await asyncio.sleep(self.poll_s)

    async def send_due(self, http: aiohttp.ClientSession) -> bool:
        """Send one due delivery; False when none is due."""
        claimed = await self._claim()
        if claimed is None:
            return False
        report_id, body = claimed
        status, error = await self._post(http, report_id, body)
        if self.counter is not None:
            self.counter.labels("delivered" if status is not None and 200 <= status < 300 else "failed").inc()
        await self._settle(report_id, status, error)
        return True

    async def _claim(self) -> tuple[str, bytes] | None:
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT d.report_id, r.report::text AS body FROM call_report_deliveries d"
                " JOIN call_reports r USING (report_id) WHERE d.delivered_at IS NULL AND d.next_attempt <= now()"
                " AND d.attempts < $1 ORDER BY d.next_attempt LIMIT 1 FOR UPDATE OF d SKIP LOCKED",
                self.max_attempts)
            if row is None:
                return None
            await conn.execute("UPDATE call_report_deliveries SET next_attempt = now() + make_interval(secs => $2)"
                               " WHERE report_id = $1", row["report_id"], LEASE_S)
        return row["report_id"], row["body"].encode()

    async def _post(self, http: aiohttp.ClientSession, report_id: str, body: bytes) -> tuple[int | None, str]:
        headers = {"Content-Type": "application/json", "Idempotency-Key": report_id,
                   "Fixline-Report-Id": report_id,
                   SIGNATURE_HEADER: signature(self.secret, int(time.time()), body)}
        try:
            async with http.post(self.url, data=body, headers=headers, allow_redirects=False) as resp:
                await resp.read()
                return resp.status, "" if resp.status < 300 else f"HTTP {resp.status}"
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            return None, type(exc).__name__

    async def _settle(self, report_id: str, status: int | None, error: str) -> None:
        async with self.pool.acquire() as conn:
            if status is not None and 200 <= status < 300:
                await conn.execute("UPDATE call_report_deliveries SET delivered_at = now(), last_status = $2,"
                                   " attempts = attempts + 1, last_error = '' WHERE report_id = $1",
                                   report_id, status)
                log.info("report delivered", extra={"report_id": report_id})
                return
            attempts = await conn.fetchval(
                "UPDATE call_report_deliveries SET attempts = attempts + 1, last_status = $2, last_error = $3"
                " WHERE report_id = $1 RETURNING attempts", report_id, status, error)
            delay = min(MAX_BACKOFF_S, self.backoff_s * 2 ** (attempts - 1))
            await conn.execute("UPDATE call_report_deliveries SET next_attempt = now() + make_interval(secs => $2)"
                               " WHERE report_id = $1", report_id, delay)
        log.warning("report delivery failed", extra={"report_id": report_id, "status": status, "error": error,
                                                     "attempt": attempts, "retry_in_s": delay})
