"""The incident state machine: which status may follow which."""

from __future__ import annotations

TERMINAL = frozenset({"resolved", "cancelled"})

ALLOWED: dict[str, frozenset[str]] = {
    "open": frozenset({"troubleshooting", "awaiting_quotes", "scheduled", "resolved", "cancelled"}),
    # troubleshooting fixed it -> resolved; it did not -> quotes (or a direct booking)
    "troubleshooting": frozenset({"awaiting_quotes", "scheduled", "resolved", "cancelled"}),
    "awaiting_quotes": frozenset({"awaiting_approval", "scheduled", "cancelled"}),
    # a declined recommendation goes back to collecting quotes
    "awaiting_approval": frozenset({"scheduled", "awaiting_quotes", "cancelled"}),
    "scheduled": frozenset({"resolved", "cancelled"}),
    "resolved": frozenset(),
    "cancelled": frozenset(),
}


def can_move(current: str, target: str) -> bool:
    return target in ALLOWED.get(current, frozenset())


def explain(current: str, target: str) -> str:
    if current in TERMINAL:
        return f"the incident is already {current}; it cannot become {target}"
    options = ", ".join(sorted(ALLOWED.get(current, ())))
    return f"an incident that is {current} cannot become {target} (allowed next: {options})"


# What a model on a guest call may do to the incident of its call: report troubleshooting,
# ask for quotes (which starts outreach), or close it because the fix worked. Never cancel,
# approve or schedule: those belong to the owner's decision and the workflow.
GUEST_ALLOWED: dict[str, frozenset[str]] = {
    "open": frozenset({"troubleshooting", "awaiting_quotes", "resolved"}),
    "troubleshooting": frozenset({"awaiting_quotes", "resolved"}),
}


def guest_may_move(current: str, target: str) -> bool:
    return target in GUEST_ALLOWED.get(current, frozenset())


def explain_guest(current: str, target: str) -> str:
    options = ", ".join(sorted(GUEST_ALLOWED.get(current, ()))) or "nothing"
    return (f"on a guest call an incident that is {current} cannot become {target} "
            f"(a guest call may move it to: {options})")
