"""The report's facts that never need a model: the outcome (from what the system recorded),
and the plain summary and follow-ups used when Gemini is unavailable or there was no talk."""

from __future__ import annotations

from fixline_proto.events import ReportOutcome

from .gather import CallFacts

NOT_ANSWERED = ("no-answer", "busy", "canceled")
MAX_TEXT = 300


def outcome(f: CallFacts) -> ReportOutcome:
    """Recorded facts decide, most specific first; the model never overrides them."""
    call, agent = f.call, str(f.facts.get("agent_outcome") or "")
    if str(call.get("answered_by") or "").startswith(("machine", "fax")):
        return "voicemail"
    if call.get("status") in NOT_ANSWERED:
        return "no_answer"
    if call.get("status") == "failed" or call.get("dial_state") == "failed":
        return "failed"
    if agent == "transferred":
        return "escalated"
    if f.decisions:
        return "decision"
    if f.quotes:
        return "quote"
    if f.incident_opened:
        return "incident_opened"
    if f.caller_turns == 0:
        return "no_answer" if call.get("direction") == "outbound" else "failed"
    if agent.startswith("agent_unavailable"):
        return "failed"
    if call.get("call_type") == "guest":
        return "update_given" if call.get("direction") == "outbound" else "resolved_by_troubleshooting"
    return "failed"


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"


def plain_summary(f: CallFacts, result: ReportOutcome) -> str:
    call = f.call
    who = {"guest": "Guest", "vendor": "Vendor", "landlord": "Owner"}.get(call.get("call_type") or "", "Caller")
    way = "called in" if call.get("direction") == "inbound" else "was called"
    parts = [f"{who} {way}; {f.caller_turns} caller turn(s), {len(f.turns)} in all."]
    first = next((t.text for t in f.turns if t.role == "caller" and t.text.strip()), "")
    if first:
        parts.append(f"Caller: \u201c{_clip(first)}\u201d")
    parts.append(_what_happened(f, result))
    return " ".join(p for p in parts if p)


def _what_happened(f: CallFacts, result: ReportOutcome) -> str:
    if result == "decision":
        d = f.decisions[-1]
        return f"The owner {'approved' if d['approved'] else 'declined'} the repair" + (
            f" ({_clip(d['notes'])})." if d.get("notes") else ".")
    if result == "quote":
        q = f.quotes[-1]
        return f"Quote recorded: {q['price']:.2f} {q['currency']}."
    if result == "incident_opened" and f.incident:
        return f"Incident opened: {f.incident['category']}, {f.incident['severity']} severity."
    return {"voicemail": "A voicemail/answering machine answered.", "no_answer": "Nobody answered.",
            "failed": "The call did not reach a result.", "escalated": "The call was handed to a person.",
            "resolved_by_troubleshooting": "Handled on the call without opening an incident.",
            "update_given": "The guest was told how their request stands.",
            "incident_opened": "An incident was opened."}[result]


def plain_follow_ups(f: CallFacts, result: ReportOutcome) -> list[str]:
    if result in ("no_answer", "voicemail"):
        return ["Call again or reach the person another way."]
    if result == "failed":
        return ["Check the call and contact the caller back."]
    if result == "escalated":
        return ["A person takes over the caller's request."]
    if result == "incident_opened":
        return ["Outreach finds a vendor for the incident."]
    if result == "quote":
        return ["The owner decides on the quote."]
    if result == "decision":
        return ["Book the repair." if f.decisions[-1]["approved"] else "Tell the guest the repair was declined."]
    return []
