"""Gemini Live token usage of one call: the ``usageMetadata`` of each server message summed
by direction and modality (the Live API reports it per turn), for the call's CallOutcome."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import msgspec
from google.genai import types

from fixline_proto.events import CallOutcome


@dataclass
class LiveUsage:
    input_audio_tokens: int = 0
    input_text_tokens: int = 0
    output_audio_tokens: int = 0
    output_text_tokens: int = 0

    def add(self, usage: types.UsageMetadata | None) -> None:
        if usage is None:
            return
        in_audio, in_text = _by_modality(usage.prompt_tokens_details, usage.prompt_token_count)
        out_audio, out_text = _by_modality(usage.response_tokens_details, usage.response_token_count)
        self.input_audio_tokens += in_audio
        self.input_text_tokens += in_text
        self.output_audio_tokens += out_audio
        self.output_text_tokens += out_text

    def stamp(self, outcome: CallOutcome) -> CallOutcome:
        """The call's outcome carrying these token counts."""
        return msgspec.structs.replace(outcome, **asdict(self))


def _by_modality(details: list[types.ModalityTokenCount] | None, total: int | None) -> tuple[int, int]:
    """(audio, everything else); without a per-modality breakdown the total counts as text."""
    if not details:
        return 0, int(total or 0)
    audio = sum(int(d.token_count or 0) for d in details if d.modality == types.MediaModality.AUDIO)
    other = sum(int(d.token_count or 0) for d in details if d.modality != types.MediaModality.AUDIO)
    return audio, other
