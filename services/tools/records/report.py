"""One end-of-call report per call: built from the call's facts, written to ``call_reports``
and queued as a ``call.report`` event in the same transaction. The call id is the primary
key, so a second build (a redelivered CallEnded, a replica racing) writes nothing and
publishes nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import asyncpg

from fixline_proto import encode
from fixline_proto.base import new_id
from fixline_proto.events import CallReport, CallUsage, ReportOutcome
from services.common import outbox
from services.common.settings import Settings

from . import classify, gather, summary
from .cost import call_cost
from .facts import report_exists

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reporter:
    pool: asyncpg.Pool
    settings: Settings
    client: Any = None            # google-genai client, None = plain summaries only
    counter: Any = None           # prometheus Counter labelled (outcome, source), optional

    async def report(self, call_id: str) -> CallReport | None:
        """Build and store the call's report; None if it exists already or the call is unknown."""
        async with self.pool.acquire() as conn:
            if await report_exists(conn, call_id):
                return None
            facts = await gather.load(conn, call_id)
        if facts is None or not facts.call.get("property_id"):
            return None
        written = None
        result = classify.outcome(facts)
        if self.client is not None and facts.turns:
            written = await summary.write(self.client, self.settings.gemini_flash_model, facts, result,
                                          self.settings.report_timeout_s)
        event = build(facts, result, written, self.settings)
        if not await store(self.pool, event, deliver=bool(self.settings.report_webhook_url)):
            return None
        if self.counter is not None:
            self.counter.labels(event.outcome, event.source).inc()
        return event


def _duration(f: gather.CallFacts) -> float:
    if f.facts.get("ended_duration_s"):
        return float(f.facts["ended_duration_s"])
    started, ended = f.call.get("started_at"), f.ended_at
    return max(0.0, (ended - started).total_seconds()) if started and ended else 0.0


def _usage(f: gather.CallFacts, report_tokens: int) -> CallUsage:
    g = f.facts.get
    return CallUsage(input_audio_tokens=int(g("input_audio_tokens") or 0),
                     input_text_tokens=int(g("input_text_tokens") or 0),
                     output_audio_tokens=int(g("output_audio_tokens") or 0),
                     output_text_tokens=int(g("output_text_tokens") or 0), report_tokens=report_tokens)


def build(f: gather.CallFacts, result: ReportOutcome, written: summary.Written | None,
          settings: Settings) -> CallReport:
    call = f.call
    usage = _usage(f, written.tokens if written else 0)
    duration = _duration(f)
    interrupted = sum(1 for t in f.turns if t.interrupted)
    return CallReport(
        property_id=call["property_id"], report_id=new_id(), call_id=f.call_id, call_type=call["call_type"],
        direction=call["direction"], outcome=result,
        summary=written.summary if written else classify.plain_summary(f, result),
        follow_ups=written.follow_ups if written else classify.plain_follow_ups(f, result),
        incident_id=f.incident["id"] if f.incident else None,
        end_reason=str(f.facts.get("ended_reason") or call.get("end_reason") or call.get("status") or ""),
        agent_outcome=str(f.facts.get("agent_outcome") or ""),
        started_at=call.get("started_at"), ended_at=f.ended_at, duration_s=round(duration, 3),
        talk_s=round(float(f.facts.get("agent_duration_s") or 0.0), 3),
        turns=len(f.turns), caller_turns=f.caller_turns,
        interruptions=max(interrupted, int(f.facts.get("barge_ins") or 0)),
        tools=f.tools, usage=usage, cost=call_cost(settings, call["direction"], duration, usage),
        source="gemini" if written else "fallback")


async def store(pool: asyncpg.Pool, event: CallReport, *, deliver: bool = False) -> bool:
    """Write the report and queue its event (and its webhook delivery); False if the call has one."""
    async with pool.acquire() as conn, conn.transaction():
        inserted = await conn.fetchval(
            "INSERT INTO call_reports (call_id, report_id, property_id, incident_id, outcome, summary, source,"
            " cost_total, report) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)"
            " ON CONFLICT (call_id) DO NOTHING RETURNING true",
            event.call_id, event.report_id, event.property_id, event.incident_id, event.outcome, event.summary,
            event.source, event.cost.total, encode(event).decode())
        if not inserted:
            return False
        await outbox.add(conn, event)
        if deliver:
            await conn.execute("INSERT INTO call_report_deliveries (report_id) VALUES ($1)", event.report_id)
    log.info("call report stored", extra={"call_id": event.call_id, "outcome": event.outcome,
                                          "source": event.source})
    return True
