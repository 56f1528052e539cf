"""The simulated person on the phone: a script of utterances, digits and a hang-up, and
the per-20 ms-tick runtime that decides what the caller's microphone sends.

Script (dict or list of steps; see README "Callee script format"):

    {"answered_by": "human", "agent_silence_s": 0.6, "max_duration_s": 60,
     "steps": [
        {"say": "Hi, my sink is leaking."},                 # after the agent spoke, then went quiet
        {"say": "Hello?", "at": 0.5},                       # at t=0.5 s after the stream started
        {"say": "Sorry to interrupt", "barge_in": 0.8},     # once agent audio has played 0.8 s
        {"dtmf": "1#", "delay": 0.3},                       # 0.3 s after the previous step
        {"hangup": true}]}
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import audio
from .media import FRAME_BYTES, SILENCE_FRAME

TICK_S = 0.02


@dataclass(frozen=True)
class CalleeStep:
    kind: str  # "say" | "dtmf" | "hangup" | "pause"
    text: str = ""
    at: float | None = None
    delay: float | None = None
    barge_in: float | None = None
    duration_s: float | None = None

    @property
    def waits_for_agent(self) -> bool:
        return self.at is None and self.delay is None and self.barge_in is None


@dataclass(frozen=True)
class CalleeScript:
    steps: tuple[CalleeStep, ...] = ()
    answered_by: str = "human"
    agent_silence_s: float = 0.6
    max_duration_s: float = 120.0
    ring_s: float | None = None  # an outbound call rings this long before it is picked up (None: the emulator's)
    dialled: str = "answer"      # as the target of a <Dial>: answer | no-answer | busy | failed

    @classmethod
    def load(cls, obj: "CalleeScript | dict | list | None") -> "CalleeScript":
        if obj is None:
            return cls()
        if isinstance(obj, CalleeScript):
            return obj
        if isinstance(obj, list):
            obj = {"steps": obj}
        steps = tuple(_step(s) for s in obj.get("steps", []))
        extra = {k: obj[k] for k in ("answered_by", "agent_silence_s", "max_duration_s", "ring_s", "dialled")
                 if k in obj}
        return cls(steps=steps, **extra)


def _step(raw: dict[str, Any]) -> CalleeStep:
    timing: dict[str, Any] = {k: raw.get(k) for k in ("at", "delay", "barge_in")}
    if "say" in raw:
        return CalleeStep("say", text=str(raw["say"]), duration_s=raw.get("duration_s"), **timing)
    if "dtmf" in raw:
        return CalleeStep("dtmf", text=str(raw["dtmf"]), **timing)
    if "hangup" in raw:
        return CalleeStep("hangup", **timing)
    if "pause" in raw:
        return CalleeStep("pause", duration_s=float(raw["pause"]), **timing)
    raise ValueError(f"callee step needs say/dtmf/hangup/pause: {raw!r}")


def utterance_ulaw(step: CalleeStep) -> bytes:
    """mu-law 8 kHz audio of a say step, padded to whole 20 ms frames."""
    pcm = audio.speech_like(step.text, 8000)
    if step.duration_s is not None:
        n = int(step.duration_s * 8000)
        pcm = np.resize(pcm, n) if n > len(pcm) else pcm[:n]
    data = audio.pcm16_to_ulaw(pcm)
    return data + b"\xff" * (-len(data) % FRAME_BYTES)


@dataclass
class CalleeRuntime:
    """Advances the script once per tick given what the agent is doing."""

    script: CalleeScript
    step_index: int = 0
    t: float = 0.0
    agent_heard_since_step: bool = False
    agent_run_s: float = 0.0  # continuous agent playback
    agent_idle_s: float = 0.0
    _step_done_t: float = 0.0
    _speaking: bytearray = field(default_factory=bytearray)
    _pause_until: float = 0.0

    def tick(self, agent_playing: bool) -> tuple[bytes, list[tuple[str, Any]]]:
        """Returns the mic frame for this tick and actions: ("say", text), ("said", text),
        ("dtmf", digit), ("hangup", None)."""
        self.t += TICK_S
        self._observe(agent_playing)
        actions: list[tuple[str, Any]] = []
        if not self._speaking and self.t >= self._pause_until:
            actions += self._maybe_start_step()
        if self._speaking:
            frame = bytes(self._speaking[:FRAME_BYTES])
            del self._speaking[:FRAME_BYTES]
            if not self._speaking:
                self._finish_step()
                actions.append(("said", self.script.steps[self.step_index - 1].text))
            return frame, actions
        return SILENCE_FRAME, actions

    @property
    def finished(self) -> bool:
        return self.step_index >= len(self.script.steps) and not self._speaking

    def _observe(self, agent_playing: bool) -> None:
        if agent_playing:
            self.agent_heard_since_step = True
            self.agent_run_s += TICK_S
            self.agent_idle_s = 0.0
        else:
            self.agent_run_s = 0.0
            self.agent_idle_s += TICK_S

    def _ready(self, step: CalleeStep) -> bool:
        if step.at is not None:
            return self.t >= step.at
        if step.delay is not None:
            return self.t - self._step_done_t >= step.delay
        if step.barge_in is not None:
            return self.agent_run_s >= step.barge_in
        return self.agent_heard_since_step and self.agent_idle_s >= self.script.agent_silence_s

    def _maybe_start_step(self) -> list[tuple[str, Any]]:
        if self.step_index >= len(self.script.steps):
            return []
        step = self.script.steps[self.step_index]
        if not self._ready(step):
            return []
        if step.kind == "say":
            self._speaking = bytearray(utterance_ulaw(step))
            return [("say", step.text)]
        self._finish_step()
        if step.kind == "pause":
            self._pause_until = self.t + (step.duration_s or 0.0)
            return []
        if step.kind == "dtmf":
            return [("dtmf", d) for d in step.text]
        return [("hangup", None)]

    def _finish_step(self) -> None:
        self.step_index += 1
        self._step_done_t = self.t
        self.agent_heard_since_step = False
