"""Writes what the call events say into the call's rows. Every write is idempotent (a
redelivered event changes nothing) and checks that the event's property is the call's own:
an event about another property's call is not stored."""

from __future__ import annotations

import asyncpg

from fixline_proto.events import CallEnded, CallOutcome, TranscriptTurn


async def store_turn(conn: asyncpg.Connection, turn: TranscriptTurn) -> bool:
    """A final turn into ``transcript_turns``; False if the call is unknown or not the property's."""
    if not turn.final:
        return False
    done = await conn.fetchval(
        "INSERT INTO transcript_turns (call_id, turn, role, text, interrupted, at)"
        " SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM calls WHERE id = $1 AND property_id = $7)"
        " ON CONFLICT (call_id, turn, role) DO UPDATE SET text = EXCLUDED.text, interrupted = EXCLUDED.interrupted"
        " RETURNING true",
        turn.call_id, turn.turn, turn.role, turn.text, turn.interrupted, turn.occurred_at, turn.property_id)
    return bool(done)


async def store_outcome(conn: asyncpg.Connection, event: CallOutcome) -> bool:
    done = await conn.fetchval(
        "INSERT INTO call_record_facts (call_id, agent_outcome, agent_duration_s, barge_ins, input_audio_tokens,"
        " input_text_tokens, output_audio_tokens, output_text_tokens, outcome_at)"
        " SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9"
        " WHERE EXISTS (SELECT 1 FROM calls WHERE id = $1 AND property_id = $10)"
        " ON CONFLICT (call_id) DO UPDATE SET agent_outcome = EXCLUDED.agent_outcome,"
        " agent_duration_s = EXCLUDED.agent_duration_s, barge_ins = EXCLUDED.barge_ins,"
        " input_audio_tokens = EXCLUDED.input_audio_tokens, input_text_tokens = EXCLUDED.input_text_tokens,"
        " output_audio_tokens = EXCLUDED.output_audio_tokens, output_text_tokens = EXCLUDED.output_text_tokens,"
        " outcome_at = EXCLUDED.outcome_at RETURNING true",
        event.call_id, event.outcome, event.duration_s, event.barge_ins, event.input_audio_tokens,
        event.input_text_tokens, event.output_audio_tokens, event.output_text_tokens, event.occurred_at,
        event.property_id)
    return bool(done)


async def store_ended(conn: asyncpg.Connection, event: CallEnded) -> bool:
    done = await conn.fetchval(
        "INSERT INTO call_record_facts (call_id, ended_reason, ended_duration_s, ended_at)"
        " SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM calls WHERE id = $1 AND property_id = $5)"
        " ON CONFLICT (call_id) DO UPDATE SET ended_reason = EXCLUDED.ended_reason,"
        " ended_duration_s = EXCLUDED.ended_duration_s, ended_at = EXCLUDED.ended_at RETURNING true",
        event.call_id, event.reason, event.duration_s, event.occurred_at, event.property_id)
    return bool(done)


async def record_tool_use(conn: asyncpg.Connection, call_id: str, tool: str, result: str) -> None:
    await conn.execute("INSERT INTO call_tool_uses (call_id, tool, result) VALUES ($1, $2, $3)",
                       call_id, tool, result)


async def report_exists(conn: asyncpg.Connection, call_id: str) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM call_reports WHERE call_id = $1)", call_id))
