"""What the caller actually heard of an interrupted agent turn.

Gemini's output transcription is text for the whole generated turn; the caller heard
only the audio Twilio played before ``clear``. The heard share of the turn's audio
(from the playback position, confirmed by marks) selects the same share of the text,
cut back to a word boundary — so the transcript never claims the caller heard words
that were cleared from Twilio's buffer.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AgentTurn:
    start_ms: float | None = None  # outbound-timeline position of the turn's first audio
    audio_ms: float = 0.0          # agent audio generated for this turn so far
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.parts).strip()

    def add_audio(self, timeline_end_ms: float, ms: float) -> None:
        if self.start_ms is None:
            self.start_ms = timeline_end_ms
        self.audio_ms += ms

    def add_text(self, text: str) -> None:
        self.parts.append(text)

    def heard_fraction(self, heard_ms: float) -> float:
        if self.start_ms is None or self.audio_ms <= 0:
            return 0.0
        return min(1.0, max(0.0, (heard_ms - self.start_ms) / self.audio_ms))

    def heard_text(self, heard_ms: float) -> str:
        return cut_text(self.text, self.heard_fraction(heard_ms))


def cut_text(text: str, fraction: float) -> str:
    """The first ``fraction`` of ``text`` by characters, ending on a whole word."""
    if fraction >= 1.0:
        return text
    if fraction <= 0.0 or not text:
        return ""
    cut = int(len(text) * fraction)
    if cut < len(text) and not text[cut].isspace():
        cut = text.rfind(" ", 0, cut)
        if cut <= 0:
            return ""
    return text[:cut].rstrip(" ,;:-")
