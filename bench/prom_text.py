"""Reading the Prometheus text exposition of a bridge: counter deltas and histogram quantiles
between two scrapes (bench/bridge_bench.py)."""

from __future__ import annotations

import re


def scrape(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def delta(after: dict[str, float], before: dict[str, float], key: str) -> float:
    return after.get(key, 0.0) - before.get(key, 0.0)


def _buckets(after: dict[str, float], before: dict[str, float], name: str, labels: str) -> list[tuple[float, float]]:
    pattern = re.compile(rf'^{name}_bucket\{{{labels}{"," if labels else ""}le="([^"]+)"\}}$')
    return sorted((float(m.group(1)), delta(after, before, k)) for k in after if (m := pattern.match(k)))


def p99_ms(after: dict[str, float], before: dict[str, float], name: str, labels: str = "", q: float = 0.99) -> float:
    """Upper bucket edge holding the q-quantile (conservative: the criterion), in ms."""
    buckets = _buckets(after, before, name, labels)
    total = buckets[-1][1] if buckets else 0
    if total <= 0:
        return 0.0
    for edge, count in buckets:
        if count >= q * total:
            return edge * 1000
    return float("inf")


def quantile_ms(after: dict[str, float], before: dict[str, float], name: str, labels: str = "",
                q: float = 0.5) -> float:
    """The q-quantile interpolated linearly inside its bucket (the raw estimate), in ms."""
    buckets = _buckets(after, before, name, labels)
    total = buckets[-1][1] if buckets else 0
    if total <= 0:
        return 0.0
    lo_edge, lo_count = 0.0, 0.0
    for edge, count in buckets:
        if count >= q * total:
            if edge == float("inf"):
                return lo_edge * 1000
            share = (q * total - lo_count) / max(count - lo_count, 1e-9)
            return round((lo_edge + share * (edge - lo_edge)) * 1000, 3)
        lo_edge, lo_count = edge, count
    return float("inf")
