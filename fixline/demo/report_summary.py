"""``make run`` offline: the Gemini emulator's answer to an end-of-call report request, made
from the prompt itself (the call facts and transcript lines), so the demo's reports read like
reports instead of the emulator's schema placeholders."""

from __future__ import annotations

import re

REPORT_PROMPT = r"^Call: \w+ call, \w+; outcome recorded:"
_FACTS = re.compile(r"^Call: (\w+) call, (\w+); outcome recorded: (\w+)\.", re.M)


def report_answer(prompt: str) -> dict[str, object]:
    facts = _FACTS.search(prompt)
    who, direction, outcome = facts.groups() if facts else ("guest", "inbound", "resolved_by_troubleshooting")
    said = [line.split(": ", 1)[1] for line in prompt.splitlines() if line.startswith("caller: ")]
    first = said[0] if said else "nothing"
    summary = (f"A {who} {'called' if direction == 'inbound' else 'was called'} and said: \u201c{first[:160]}\u201d "
               f"The call ended as {outcome.replace('_', ' ')}.")
    follow_ups = {"incident_opened": ["Follow the vendor outreach for the new incident."],
                  "quote": ["Ask the owner to approve the quote."],
                  "no_answer": ["Try the call again later."]}.get(outcome, [])
    return {"summary": summary, "follow_ups": follow_ups}
