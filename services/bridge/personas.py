"""One system prompt per call type (guest, vendor, landlord), with the call's context
(call_context.py).

The prompt text lives in ``prompts/*.txt`` so it can be reviewed without reading code.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

# media_stream.py (bridge-perf's) imports these from here; call_context.py is their home.
from .call_context import CALL_TYPES as CALL_TYPES
from .call_context import CallContext as CallContext
from .call_context import context_from_claims as context_from_claims

PROMPT_DIR = Path(__file__).with_name("prompts")


SITUATIONS = {
    ("guest", "inbound"): "the guest phoned the maintenance line",
    ("guest", "outbound"): "we are calling the guest back; the briefing says why",
    ("vendor", "outbound"): "we are calling the vendor for a quote; the briefing has the job",
    ("vendor", "inbound"): "the vendor phoned the maintenance line",
    ("landlord", "outbound"): "we are calling the owner for a decision; the briefing has the quotes",
}


def situation(ctx: CallContext) -> str:
    """Why this call is happening, in a line the model acts on (voicemail included)."""
    if ctx.answered_by.startswith("machine") or ctx.answered_by == "fax":
        back = f" on {ctx.callback_number}" if ctx.callback_number else ""
        return ("an answering machine picked up: leave one short voicemail (you are Fixline, about "
                f"{ctx.display_name}, please call us back{back}), then call end_call; do not ask questions")
    direction = ctx.direction or ("inbound" if ctx.call_type == "guest" else "outbound")
    return SITUATIONS.get((ctx.call_type, direction), f"a {direction} call with the {ctx.call_type}")


def context_lines(ctx: CallContext) -> str:
    """The facts the model may rely on, one per line (no secrets, no tokens)."""
    lines = [f"- Property: {ctx.display_name} (id {ctx.property_id})"]
    if ctx.property_address:
        lines.append(f"- Address: {ctx.property_address}")
    if ctx.property_timezone:
        lines.append(f"- Time zone of the property: {ctx.property_timezone} (say times in local time)")
    if ctx.incident_id:
        lines.append(f"- Incident being handled: {ctx.incident_id}")
    if ctx.vendor_id:
        role = "Recommended vendor" if ctx.call_type == "landlord" else "Vendor on this call"
        lines.append(f"- {role}: {ctx.vendor_id}")
    if ctx.briefing:
        lines.append(f"- Briefing: {ctx.briefing}")
    lines.append(f"- Who you are talking with: the {ctx.call_type}")
    lines.append(f"- This call: {situation(ctx)}")
    return "\n".join(lines)


@cache
def _template(name: str) -> str:
    return (PROMPT_DIR / f"{name}.txt").read_text(encoding="utf-8")


def system_prompt(ctx: CallContext) -> str:
    if ctx.call_type not in CALL_TYPES:
        raise ValueError(f"unknown call type {ctx.call_type!r}; expected one of {CALL_TYPES}")
    persona = _template(ctx.call_type).replace("{property_name}", ctx.display_name)
    common = _template("common").replace("{context}", context_lines(ctx))
    return f"{persona.strip()}\n\n{common.strip()}\n"


def resume_note(transcript_tail: list[tuple[str, str]]) -> str:
    """Appended to the system prompt when a session must be rebuilt without a resumption
    handle: the model continues the conversation instead of greeting again."""
    said = "\n".join(f"{role}: {text}" for role, text in transcript_tail[-12:]) or "(nothing yet)"
    return ("\n\nIMPORTANT: this phone call is already in progress; the connection to you was briefly "
            "interrupted and has been restored. Do NOT greet the caller again and do not introduce "
            "yourself again. Continue naturally from where the conversation stopped. The conversation "
            f"so far:\n{said}\n")


KICKOFF_TEXT = "[The call has connected and the other person is on the line. Begin now.]"


def dtmf_text(digits: str) -> str:
    return f"[The caller pressed keys on their phone keypad: {' '.join(digits)}]"
