"""Helpers of the call-records tests: publish a call's events as the bridge and ingress do,
and wait for what the records consumer wrote."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import nats

from nats.js.api import DeliverPolicy

from fixline_proto import encode, subjects
from fixline_proto.base import tag_of
from fixline_proto.events import CallEnded, CallOutcome, Event, TranscriptTurn


async def publish(nc: nats.aio.client.Client, event: Event) -> None:
    await nc.jetstream().publish(subjects.event(event.property_id, tag_of(event)), encode(event),
                                 headers={"Nats-Msg-Id": event.id})


async def talk(nc, call_id: str, lines: list[tuple[str, str]], property_id: str = "p1",
               interrupted: tuple[int, ...] = ()) -> None:
    for n, (role, text) in enumerate(lines):
        await publish(nc, TranscriptTurn(property_id=property_id, call_id=call_id, role=role,  # type: ignore[arg-type]
                                         text=text, turn=n, interrupted=n in interrupted))


async def outcome(nc, call_id: str, property_id: str = "p1", **fields: Any) -> None:
    values: dict[str, Any] = dict(outcome="caller_hangup", duration_s=95.0, barge_ins=1,
                                  input_audio_tokens=2400, input_text_tokens=600, output_audio_tokens=1800,
                                  output_text_tokens=0)
    values.update(fields)
    await publish(nc, CallOutcome(property_id=property_id, call_id=call_id, **values))


async def ended(nc, call_id: str, property_id: str = "p1", duration_s: float = 100.0,
                reason: str = "completed") -> None:
    await publish(nc, CallEnded(property_id=property_id, call_id=call_id, reason=reason, duration_s=duration_s))


async def report_of(pool: asyncpg.Pool, call_id: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with pool.acquire() as conn:
            raw = await conn.fetchval("SELECT report::text FROM call_reports WHERE call_id = $1", call_id)
        if raw is not None:
            return dict(json.loads(raw))
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no report for {call_id} within {timeout}s")
        await asyncio.sleep(0.1)


async def count(pool: asyncpg.Pool, sql: str, *args: Any) -> int:
    async with pool.acquire() as conn:
        return int(await conn.fetchval(sql, *args))


async def published_reports(nc: nats.aio.client.Client, call_id: str, property_id: str = "p1",
                            wait_s: float = 5.0) -> list[dict[str, Any]]:
    """The ``call.report`` events of the call on the EVENTS stream (waits for the first)."""
    sub = await nc.jetstream().subscribe(subjects.event(property_id, "call.report"), ordered_consumer=True,
                                         deliver_policy=DeliverPolicy.ALL)
    found: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + wait_s
    try:
        while asyncio.get_running_loop().time() < deadline:
            try:
                msg = await sub.next_msg(timeout=0.3)
            except nats.errors.TimeoutError:
                if found:
                    break
                continue
            body = json.loads(msg.data)
            if body.get("call_id") == call_id:
                found.append(body)
    finally:
        await sub.unsubscribe()
    return found
