"""Per-frame metrics are plain counters on the hot path, and still ordinary Prometheus
counters and histograms on /metrics (the names dashboards and the bench read)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from services.bridge.metrics import BridgeMetrics


def scraped(registry: CollectorRegistry) -> dict[str, float]:
    out = {}
    for line in generate_latest(registry).decode().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def test_hot_counters_and_histograms_scrape_as_prometheus_metrics():
    registry = CollectorRegistry()
    m = BridgeMetrics(registry)
    m.frames_in.value += 3
    m.count_frames_out(5)
    m.count_underrun(120.0)
    for seconds in (0.0001, 0.0005, 0.004, 2.0):  # 0.0005 sits on an edge: counted in that bucket
        m.forward_in.observe(seconds)
    m.loop_lag.observe(0.012)
    got = scraped(registry)
    assert got["bridge_frames_in_total"] == 3 and got["bridge_frames_out_total"] == 5
    assert got["bridge_playback_underruns_total"] == 1
    assert got["bridge_playback_underrun_seconds_total"] == 0.12
    fin = 'bridge_frame_forward_seconds_bucket{direction="in",le="%s"}'
    assert got[fin % "0.00025"] == 1 and got[fin % "0.0005"] == 2 and got[fin % "0.005"] == 3
    assert got[fin % "1.0"] == 3 and got[fin % "+Inf"] == 4
    assert got['bridge_frame_forward_seconds_count{direction="in"}'] == 4
    assert abs(got['bridge_frame_forward_seconds_sum{direction="in"}'] - 2.0046) < 1e-9
    assert got['bridge_frame_forward_seconds_count{direction="out"}'] == 0
    assert got['bridge_event_loop_lag_seconds_bucket{le="0.01"}'] == 0
    assert got['bridge_event_loop_lag_seconds_bucket{le="0.02"}'] == 1
