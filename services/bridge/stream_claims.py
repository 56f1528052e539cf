"""One live media stream per call, across every bridge.

A verified ``start`` claims its call id in the JetStream key-value bucket ``MEDIA_STREAMS``
with create-if-absent (atomic on the server); a second stream for the same call — on this
bridge or any other, with any token — is refused. Twilio never re-opens a ``<Stream>`` for
a call, so a second stream is always a replay. Claims are kept for a day (far beyond a
token's life). Without NATS the claim cannot be made and the stream is refused: a call
without the bus has no tools and no events either.
"""

from __future__ import annotations

import asyncio
import hashlib

from nats.aio.client import Client as NATS
from nats.js.errors import KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from fixline_proto import subjects

BUCKET = subjects.MEDIA_STREAMS_BUCKET
CLAIM_TIMEOUT_S = 2.0


class ClaimRefused(Exception):
    """The call already has a stream, or the claim could not be recorded."""


def claim_key(call_id: str) -> str:
    """Call ids may hold characters KV keys do not allow; a digest always fits."""
    return hashlib.sha256(call_id.encode()).hexdigest()[:40]


class StreamClaims:
    def __init__(self, bridge_id: str) -> None:
        self.bridge_id = bridge_id
        self._kv: KeyValue | None = None
        self._opening = asyncio.Lock()

    async def _bucket(self, nc: NATS) -> KeyValue:
        """The bucket as the services that manage streams provisioned it (``bus.ensure_streams``)."""
        async with self._opening:
            if self._kv is None:
                self._kv = await nc.jetstream().key_value(BUCKET)
            return self._kv

    async def claim(self, nc: NATS, call_id: str) -> None:
        """Raise ``ClaimRefused`` unless this is the first stream ever claimed for ``call_id``."""
        try:
            async with asyncio.timeout(CLAIM_TIMEOUT_S):
                kv = await self._bucket(nc)
                await kv.create(claim_key(call_id), self.bridge_id.encode())
        except KeyWrongLastSequenceError:
            raise ClaimRefused("the call already has a media stream") from None
        except Exception as exc:  # noqa: BLE001 - NATS down, timeout: refuse, never admit unclaimed
            raise ClaimRefused(f"stream claim not recorded: {type(exc).__name__}") from None
