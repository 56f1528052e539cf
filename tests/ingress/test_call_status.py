"""The pure ordering rules of call statuses."""

import pytest

from services.ingress.call_status import transition


@pytest.mark.parametrize(("current", "last", "incoming", "seq", "apply", "new"), [
    ("ringing", 1, "in-progress", 2, True, "in-progress"),
    ("ringing", 1, "in-progress", None, True, "in-progress"),   # no SequenceNumber: rank decides
    ("in-progress", 2, "in-progress", 2, False, None),          # duplicate
    ("in-progress", 2, "ringing", 1, False, None),              # stale
    ("in-progress", 2, "ringing", 3, True, None),               # newer but backwards: sequence only
    ("completed", 3, "in-progress", 4, True, None),             # terminal wins
    ("completed", 3, "busy", 4, True, None),                    # terminal wins over terminal
    ("in-progress", -1, "canceled", None, True, "canceled"),
    ("ringing", -1, "ringing", None, False, None),
    ("ringing", -1, "dancing", 9, False, None),                 # unknown status
])
def test_transition(current, last, incoming, seq, apply, new):
    step = transition(current, last, incoming, seq)
    assert (step.apply, step.new_status) == (apply, new)

