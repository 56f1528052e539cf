"""A call's transcript: caller and agent turns, numbered, published as TranscriptTurn.

Caller text comes from Gemini's input transcription; agent text from the output
transcription, cut to what was heard when the turn was interrupted (see barge_in).
"""

from __future__ import annotations

from collections.abc import Callable

from fixline_proto.events import TranscriptTurn

from .barge_in import AgentTurn
from .events_out import EventSink


class Transcript:
    def __init__(self, call_id: str, property_id: str, sink: EventSink | None,
                 on_turn: Callable[[TranscriptTurn], None] | None = None, first_turn: int = 0) -> None:
        self.call_id, self.property_id, self.sink = call_id, property_id, sink
        self.turn_no = first_turn  # a return to the agent after a hand-off numbers on from leg * 1000
        self.turns: list[TranscriptTurn] = []
        self.caller_parts: list[str] = []
        self.agent = AgentTurn()
        self._on_turn = on_turn

    # caller -------------------------------------------------------------------

    def caller_text(self, text: str, finished: bool) -> None:
        if text:
            self.caller_parts.append(text)
        if finished:
            self.close_caller()

    def close_caller(self) -> None:
        text = "".join(self.caller_parts).strip()
        self.caller_parts.clear()
        if text:
            self._emit("caller", text)

    # agent --------------------------------------------------------------------

    def agent_audio(self, timeline_end_ms: float, ms: float) -> None:
        if self.caller_parts:  # the agent answers: the caller's turn is over
            self.close_caller()
        self.agent.add_audio(timeline_end_ms, ms)

    def agent_text(self, text: str) -> None:
        self.agent.add_text(text)

    def agent_complete(self) -> None:
        self.close_caller()
        if self.agent.text:
            self._emit("agent", self.agent.text)
        self.agent = AgentTurn()

    def agent_interrupted(self, heard_ms: float) -> str:
        heard = self.agent.heard_text(heard_ms)
        if heard:
            self._emit("agent", heard, interrupted=True)
        self.agent = AgentTurn()
        return heard

    def system(self, text: str) -> None:
        self._emit("system", text)

    # --------------------------------------------------------------------------

    def tail(self, n: int = 12) -> list[tuple[str, str]]:
        return [(t.role, t.text) for t in self.turns[-n:]]

    def _emit(self, role: str, text: str, interrupted: bool = False) -> None:
        self.turn_no += 1
        turn = TranscriptTurn(property_id=self.property_id, call_id=self.call_id, role=role,  # type: ignore[arg-type]
                              text=text, turn=self.turn_no, interrupted=interrupted)
        self.turns.append(turn)
        if self.sink is not None:
            self.sink.emit(turn, f"{self.call_id}:{self.turn_no}:{role}")
        if self._on_turn:
            self._on_turn(turn)
