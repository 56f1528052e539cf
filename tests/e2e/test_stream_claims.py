"""One stream per call across bridges, on the real NATS: the first claim wins, every later
one (any bridge) is refused, and without NATS nothing is admitted."""

from __future__ import annotations

import asyncio
import time
import uuid

import nats
import pytest

from services.bridge.stream_claims import ClaimRefused, StreamClaims


async def test_the_first_claim_wins_across_bridges(nc):
    call_id = f"c-{uuid.uuid4().hex}:vendor/1"   # characters a KV key may not hold
    a, b = StreamClaims("bridge-a"), StreamClaims("bridge-b")
    results = await asyncio.gather(a.claim(nc, call_id), b.claim(nc, call_id), a.claim(nc, call_id),
                                   return_exceptions=True)
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, ClaimRefused) and "already has a media stream" in str(r) for r in results if r)


async def test_a_claim_costs_about_a_millisecond(nc):
    claims = StreamClaims("bridge-a")
    await claims.claim(nc, uuid.uuid4().hex)   # opens the bucket
    t0 = time.perf_counter()
    for _ in range(200):
        await claims.claim(nc, uuid.uuid4().hex)
    per_claim_ms = (time.perf_counter() - t0) / 200 * 1000
    print(f"stream claim: {per_claim_ms:.2f} ms")
    assert per_claim_ms < 50   # generous: a shared, loaded test machine


async def test_without_nats_nothing_is_admitted(nats_url):
    client = await nats.connect(nats_url)
    claims = StreamClaims("bridge-a")
    await claims.claim(client, uuid.uuid4().hex)
    await client.close()
    with pytest.raises(ClaimRefused, match="not recorded"):
        await claims.claim(client, uuid.uuid4().hex)
