"""Scripted model behaviour for the Live emulator (pure data; see README "Scenario format").

A scenario is a list of steps the emulated model performs in order:

    {"say": "text"}                               speak (audio + output transcription)
    {"say": "text", "duration_s": 2.0}            ... with a fixed audio length
    {"listen": "what the caller says"}            wait for the caller's turn to end (VAD, text,
    {"listen": {"transcript": "...", "timeout_s": 10}}   activityEnd, audioStreamEnd, clientContent)
    {"tool_call": {"name": "n", "args": {...}}}   call tool(s); waits for the responses unless
    {"tool_call": [{...}, {...}], "wait": false}  "wait": false (or the tool is NON_BLOCKING)
        an argument {"$time": {"days": 1, "at": "10:00", "tz": "America/Los_Angeles"}} becomes the
        ISO date-time of that local time, ``days`` after today, when the call is made (a quote
        that is always in the future); {"$time": {"hours": -2}} = two hours ago
    {"wait_tool_responses": true}                 wait for every outstanding call
    {"sleep": 0.5}                                pause
    {"go_away": {"time_left_s": 1.0}}             goAway, then close 1011 "Deadline expired…"
    {"close": {"code": 1011, "reason": "..."}}    close the socket with this code
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

SCENARIO_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "scenarios")
STEP_KINDS = ("say", "listen", "tool_call", "wait_tool_responses", "sleep", "go_away", "close")


class ScenarioError(ValueError):
    pass


@dataclass(frozen=True)
class Timing:
    """Output pacing. ``pace`` 1.0 = real time, 0 = as fast as possible."""

    response_delay_ms: int = 250
    chunk_ms: int = 40
    burst_ms: int = 200
    pace: float = 1.0


@dataclass(frozen=True)
class Step:
    kind: str
    text: str = ""
    duration_s: float | None = None
    timeout_s: float | None = None
    calls: tuple[dict, ...] = ()
    wait: bool | None = None
    seconds: float = 0.0
    code: int = 1011
    reason: str = ""


@dataclass(frozen=True)
class Scenario:
    name: str
    steps: tuple[Step, ...]
    timing: Timing = field(default_factory=Timing)
    go_away_after_s: float | None = None
    go_away_time_left_s: float = 50.0
    description: str = ""

    @classmethod
    def load(cls, source: "Scenario | dict | str") -> "Scenario":
        """A Scenario, a dict, a built-in name (``"guest"``) or a path to a JSON file."""
        if isinstance(source, Scenario):
            return source
        if isinstance(source, dict):
            return cls.from_dict(source)
        path = source if os.path.exists(source) else os.path.join(SCENARIO_DIR, f"{source}.json")
        if not os.path.exists(path):
            raise ScenarioError(f"unknown scenario {source!r}")
        with open(path) as f:
            return cls.from_dict(json.load(f))

    @classmethod
    def from_dict(cls, data: dict) -> "Scenario":
        steps = tuple(parse_step(s) for s in data.get("steps", []))
        timing = Timing(**data.get("timing", {}))
        return cls(name=data.get("name", "inline"), steps=steps, timing=timing,
                   go_away_after_s=data.get("go_away_after_s"),
                   go_away_time_left_s=float(data.get("go_away_time_left_s", 50.0)),
                   description=data.get("description", ""))

    @classmethod
    def builtin_names(cls) -> list[str]:
        return sorted(f[:-5] for f in os.listdir(SCENARIO_DIR) if f.endswith(".json"))


def _calls(value: Any) -> tuple[dict, ...]:
    items = value if isinstance(value, list) else [value]
    for c in items:
        if not isinstance(c, dict) or not isinstance(c.get("name"), str):
            raise ScenarioError(f"tool_call needs {{'name': str, 'args': dict}}: {c!r}")
    return tuple({"name": c["name"], "args": dict(c.get("args", {}))} for c in items)


def parse_step(raw: dict) -> Step:
    kinds = [k for k in STEP_KINDS if k in raw]
    if len(kinds) != 1:
        raise ScenarioError(f"a step needs exactly one of {STEP_KINDS}: {raw!r}")
    kind, value = kinds[0], raw[kinds[0]]
    if kind == "say":
        return Step("say", text=str(value), duration_s=raw.get("duration_s"))
    if kind == "listen":
        spec = value if isinstance(value, dict) else {"transcript": value}
        return Step("listen", text=spec.get("transcript") or "", timeout_s=spec.get("timeout_s"))
    if kind == "tool_call":
        return Step("tool_call", calls=_calls(value), wait=raw.get("wait"))
    if kind == "sleep":
        return Step("sleep", seconds=float(value))
    if kind == "go_away":
        return Step("go_away", seconds=float((value or {}).get("time_left_s", 50.0)))
    if kind == "close":
        return Step("close", code=int(value.get("code", 1011)),
                    reason=value.get("reason", "Internal error encountered."))
    return Step("wait_tool_responses")


def relative_time(spec: dict, now: datetime | None = None) -> str:
    """``{"days": 1, "at": "10:00", "tz": "..."}`` or ``{"hours": -2}`` -> ISO 8601 with offset."""
    tz = ZoneInfo(spec.get("tz", "UTC"))
    when = (now or datetime.now(UTC)).astimezone(tz)
    when += timedelta(days=float(spec.get("days", 0)), hours=float(spec.get("hours", 0)),
                      minutes=float(spec.get("minutes", 0)))
    if "at" in spec:
        when = datetime.combine(when.date(), time.fromisoformat(spec["at"]), tzinfo=tz)
    return when.replace(microsecond=0).isoformat()


def resolve_args(value: Any, now: datetime | None = None) -> Any:
    """Tool-call arguments with every ``{"$time": {...}}`` replaced by its date-time."""
    if isinstance(value, dict):
        if set(value) == {"$time"}:
            return relative_time(value["$time"], now)
        return {k: resolve_args(v, now) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_args(v, now) for v in value]
    return value
