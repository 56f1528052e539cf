"""Prometheus metrics of the bridge (registered once per process on the runtime's registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
_FAST_BUCKETS = (0.00025, 0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.02, 0.05,
                 0.1, 0.25, 1.0)


class BridgeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = registry if registry is not None else CollectorRegistry()
        self.active_calls = Gauge("bridge_active_calls", "Media streams this process holds", registry=r)
        self.max_calls = Gauge("bridge_max_calls", "Configured MAX_CALLS", registry=r)
        self.draining = Gauge("bridge_draining", "1 while draining after SIGTERM", registry=r)
        self.calls_total = Counter("bridge_calls_total", "Media streams by outcome", ["outcome"], registry=r)
        self.frames_in = Counter("bridge_frames_in_total", "Twilio media frames received", registry=r)
        self.frames_out = Counter("bridge_frames_out_total", "20 ms μ-law frames sent to Twilio", registry=r)
        self.frames_dropped = Counter(
            "bridge_frames_dropped_total", "Frames dropped, by direction and reason",
            ["direction", "reason"], registry=r)
        self.bad_messages = Counter(
            "bridge_bad_messages_total", "Twilio messages rejected (malformed, oversized)", ["reason"], registry=r)
        self.rejected_upgrades = Counter(
            "bridge_rejected_streams_total", "Media streams refused", ["reason"], registry=r)
        self.forward_latency = Histogram(
            "bridge_frame_forward_seconds", "Time to forward one frame through the bridge",
            ["direction"], buckets=_FAST_BUCKETS, registry=r)
        self.turn_latency = Histogram(
            "bridge_turn_latency_seconds", "Caller stops speaking -> first agent audio sent to Twilio",
            buckets=_LATENCY_BUCKETS, registry=r)
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
        self.loop_lag = Histogram(
            "bridge_event_loop_lag_seconds", "How late a 10 ms timer fires (time frames wait to be read)",
            buckets=_FAST_BUCKETS, registry=r)
        self.tool_cancelled = Counter(
            "bridge_tool_cancelled_total", "Tool calls cancelled by Gemini (toolCallCancellation)", registry=r)
        self.fallbacks = Counter(
            "bridge_fallbacks_total", "Calls handed to the apology fallback", ["action"], registry=r)
