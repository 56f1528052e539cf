"""End-to-end timing of turn events across the bench's processes.

The Gemini stand-in logs, per bench call, when it sent a turn's first chunk (``f``) and
``interrupted`` (``i``); the harness notes, per call, when a turn's first media message
and a ``clear`` arrived. Both read ``time.monotonic()`` (CLOCK_MONOTONIC, one clock for
every process on the machine), so each arrival minus the latest matching send before it
is the bridge's delay plus both generators' scheduling: an upper bound on the bridge's own.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from pathlib import Path

import numpy as np

MATCH_WINDOW_S = 1.0  # an arrival later than this after the send is not its answer


class TimingLog:
    """Reads the stand-in's log from where the previous step stopped."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0

    def skip_to_end(self) -> None:
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def read(self) -> dict[str, dict[int, list[float]]]:
        """kind -> call number -> send times, for the lines written since the last read."""
        sent: dict[str, dict[int, list[float]]] = {"f": defaultdict(list), "i": defaultdict(list)}
        if not self.path.exists():
            return sent
        with self.path.open() as f:
            f.seek(self.offset)
            text = f.read()
        complete = text[:text.rfind("\n") + 1]
        self.offset += len(complete.encode())
        for line in complete.splitlines():
            kind, n, at = line.split()
            sent[kind][int(n)].append(float(at))
        return sent


def delays_ms(sent: dict[int, list[float]], seen: dict[int, list[float]]) -> tuple[list[float], int]:
    """Per call, each arrival minus the latest send at or before it (within the window);
    also how many sends got no arrival at all."""
    delays, unanswered = [], 0
    for n, sends in sent.items():
        sends = sorted(sends)
        answered = set()
        for t in seen.get(n, []):
            k = bisect_right(sends, t) - 1
            if k >= 0 and t - sends[k] <= MATCH_WINDOW_S and k not in answered:
                answered.add(k)
                delays.append((t - sends[k]) * 1000)
        unanswered += len(sends) - len(answered)
    return delays, unanswered


def summary(sent: dict[str, dict[int, list[float]]], clears: dict[int, list[float]],
            turn_starts: dict[int, list[float]]) -> dict:
    out: dict = {}
    for key, kind, seen in (("barge_in", "i", clears), ("first_audio", "f", turn_starts)):
        delays, unanswered = delays_ms(sent[kind], seen)
        out[f"{key}_count"], out[f"{key}_unanswered"] = len(delays), unanswered
        for q in (50, 99):
            out[f"p{q}_{key}_e2e_ms"] = round(float(np.percentile(delays, q)), 2) if delays else None
    return out
