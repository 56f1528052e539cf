"""Ordering of Twilio call statuses. Callbacks arrive as separate requests in any order
(and may be retried), so a callback only moves a call forward: a SequenceNumber at or
below the last one seen is a duplicate or stale, a status never goes backwards, and once
a call is in a terminal state nothing changes it."""

from __future__ import annotations

from dataclasses import dataclass

RANK = {"queued": 0, "initiated": 1, "ringing": 2, "in-progress": 3,
        "completed": 4, "busy": 4, "failed": 4, "no-answer": 4, "canceled": 4}
TERMINAL = frozenset(s for s, r in RANK.items() if r == 4)


@dataclass(frozen=True)
class Transition:
    apply: bool          # write anything at all
    new_status: str | None  # the status to store (None: keep the current one)

    @property
    def terminal(self) -> bool:
        return self.new_status in TERMINAL


IGNORE = Transition(False, None)


def transition(current: str, last_sequence: int, incoming: str, sequence: int | None) -> Transition:
    """What a callback reporting ``incoming`` (with ``sequence``, if Twilio sent one) does."""
    if incoming not in RANK:
        return IGNORE
    if sequence is not None and sequence <= last_sequence:
        return IGNORE                                  # a retry, or older than what we have
    forward = current not in TERMINAL and RANK[incoming] > RANK.get(current, -1)
    if not forward:
        # Newer sequence but not a step forward: remember the sequence, keep the status.
        return Transition(sequence is not None, None)
    return Transition(True, incoming)

