"""Prometheus metrics of the bridge (registered once per process on the runtime's registry).

Per-frame figures (frames in/out, forwarding time, loop lag) are plain Python counters
that the hot path bumps with an attribute add or one ``bisect``; ``_HotPathCollector``
turns them into ordinary Prometheus counters and histograms when /metrics is scraped.
prometheus_client's ``inc``/``observe`` take a lock and several calls each; on every
20 ms frame of every call that was ≈ 4 % of the bridge's CPU (docs/benchmarks.md).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

_LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
_FAST_BUCKETS = (0.00025, 0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.02, 0.05,
                 0.1, 0.25, 1.0)


class PlainCounter:
    """A counter the hot path bumps with ``counter.value += n`` (no lock, no call)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: float = 0


class FastHistogram:
    """Bucket counts in a list, found with one ``bisect``; cumulated only at scrape time.
    Buckets are Prometheus's: an observation equal to an edge counts in that edge's bucket."""

    __slots__ = ("edges", "counts", "sum")

    def __init__(self, edges: tuple[float, ...] = _FAST_BUCKETS) -> None:
        self.edges = edges
        self.counts = [0] * (len(edges) + 1)  # the last one is +Inf
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.edges, value)] += 1
        self.sum += value

    def cumulative(self) -> list[tuple[str, float]]:
        total: float = 0
        out: list[tuple[str, float]] = []
        for edge, count in zip((*self.edges, float("inf")), self.counts, strict=True):
            total += count
            out.append(("+Inf" if edge == float("inf") else repr(edge), total))
        return out


class _HotPathCollector(Collector):
    def __init__(self, m: BridgeMetrics) -> None:
        self.m = m

    def collect(self) -> Iterator[Metric]:
        m = self.m
        for name, doc, counter in (
                ("bridge_frames_in", "Twilio media frames received", m.frames_in),
                ("bridge_frames_out", "20 ms μ-law frames sent to Twilio", m.frames_out),
                ("bridge_playback_underruns", "Agent turns' playback ran dry at Twilio (late mark echoes)",
                 m.underruns),
                ("bridge_playback_underrun_seconds", "Total length of those gaps", m.underrun_seconds)):
            yield CounterMetricFamily(name, doc, value=counter.value)
        forward = HistogramMetricFamily("bridge_frame_forward_seconds", "Time to forward one frame through the bridge",
                                        labels=["direction"])
        for direction, hist in (("in", m.forward_in), ("out", m.forward_out)):
            forward.add_metric([direction], hist.cumulative(), hist.sum)
        yield forward
        lag = HistogramMetricFamily("bridge_event_loop_lag_seconds",
                                    "How late a 10 ms timer fires (time frames wait to be read)")
        lag.add_metric([], m.loop_lag.cumulative(), m.loop_lag.sum)
        yield lag


class BridgeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = registry if registry is not None else CollectorRegistry()
        self.active_calls = Gauge("bridge_active_calls", "Media streams this process holds", registry=r)
        self.max_calls = Gauge("bridge_max_calls", "Configured MAX_CALLS", registry=r)
        self.draining = Gauge("bridge_draining", "1 while draining after SIGTERM", registry=r)
        self.calls_total = Counter("bridge_calls_total", "Media streams by outcome", ["outcome"], registry=r)
        # per frame: plain counters, exported by _HotPathCollector
        self.frames_in = PlainCounter()
        self.frames_out = PlainCounter()
        self.forward_in = FastHistogram()
        self.forward_out = FastHistogram()
        self.loop_lag = FastHistogram()
        self.underruns = PlainCounter()
        self.underrun_seconds = PlainCounter()
        r.register(_HotPathCollector(self))
        self.frames_dropped = Counter(
            "bridge_frames_dropped_total", "Frames dropped, by direction and reason",
            ["direction", "reason"], registry=r)
        self.bad_messages = Counter(
            "bridge_bad_messages_total", "Twilio messages rejected (malformed, oversized)", ["reason"], registry=r)
        self.rejected_upgrades = Counter(
            "bridge_rejected_streams_total", "Media streams refused", ["reason"], registry=r)
        self.turn_latency = Histogram(
            "bridge_turn_latency_seconds", "Caller stops speaking -> first agent audio sent to Twilio",
            buckets=_LATENCY_BUCKETS, registry=r)
        self.turn_first_audio = Histogram(
            "bridge_turn_first_audio_seconds",
            "A turn's first agent audio: arrival from Gemini -> sent to Twilio (start-of-turn buffer included)",
            buckets=_FAST_BUCKETS, registry=r)
        self.barge_in_latency = Histogram(
            "bridge_barge_in_seconds", "Gemini 'interrupted' received -> Twilio 'clear' sent",
            buckets=_FAST_BUCKETS, registry=r)
        self.reconnects = Counter(
            "bridge_gemini_reconnects_total", "Gemini Live reconnects by close code", ["code"], registry=r)
        self.handovers = Counter(
            "bridge_gemini_handovers_total", "goAway handovers to a resumed session", ["outcome"], registry=r)
        self.tool_latency = Histogram(
            "bridge_tool_seconds", "Tool call latency by tool and outcome", ["tool", "outcome"],
            buckets=_LATENCY_BUCKETS, registry=r)
        self.tool_cancelled = Counter(
            "bridge_tool_cancelled_total", "Tool calls cancelled by Gemini (toolCallCancellation)", registry=r)
        self.fallbacks = Counter(
            "bridge_fallbacks_total", "Calls handed to the apology fallback", ["action"], registry=r)

    def count_frames_out(self, n: int) -> None:
        self.frames_out.value += n

    def count_underrun(self, gap_ms: float) -> None:
        self.underruns.value += 1
        self.underrun_seconds.value += gap_ms / 1000
