"""``$SRV.STATS`` that tell the truth about the tool work, not about handing it off.

nats.micro times an endpoint's handler and counts the exceptions it raises. The tool server's
handler only admits a request and returns (the work runs in a task of its own; see server.py),
so on its own micro would report the admission as the processing time and never an error.
``WorkStats`` records each request's real outcome and duration, and its ``report`` is the
service's ``stats_handler``: micro calls it with each endpoint's ``EndpointStats`` just before
sending them, and it puts the work's numbers in place of the handler's (``num_requests`` stays
micro's: every request the endpoint received). ``data`` adds what micro has no field for.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.micro.service import EndpointStats


@dataclass
class EndpointWork:
    completed: int = 0
    errors: int = 0
    last_error: str = ""
    processing_ns: int = 0


class WorkStats:
    def __init__(self) -> None:
        self._work: dict[str, EndpointWork] = {}

    def record(self, endpoint: str, elapsed_ns: int, error: str | None = None) -> None:
        """One request done: ``error`` is ``"code: message"`` when it was refused or failed."""
        work = self._work.setdefault(endpoint, EndpointWork())
        work.completed += 1
        work.processing_ns += elapsed_ns
        if error is not None:
            work.errors += 1
            work.last_error = error

    def report(self, stats: EndpointStats) -> dict[str, int]:
        work = self._work.get(stats.name, EndpointWork())
        stats.num_errors = work.errors
        stats.last_error = work.last_error or None
        stats.processing_time = work.processing_ns
        stats.average_processing_time = work.processing_ns // work.completed if work.completed else 0
        return {"completed": work.completed, "in_flight": max(0, stats.num_requests - work.completed)}
