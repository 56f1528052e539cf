"""What a call cost: telephony per started minute (by direction) plus Gemini tokens."""

from __future__ import annotations

import math

from fixline_proto.events import CallCost, CallUsage
from services.common.settings import Settings

PER_MILLION = 1_000_000


def billed_minutes(duration_s: float) -> int:
    """Twilio bills every started minute; a call that never connected costs nothing."""
    return math.ceil(duration_s / 60.0) if duration_s > 0 else 0


def call_cost(s: Settings, direction: str, duration_s: float, usage: CallUsage) -> CallCost:
    minutes = billed_minutes(duration_s)
    per_min = s.price_outbound_per_min if direction == "outbound" else s.price_inbound_per_min
    telephony = minutes * per_min
    gemini = (usage.input_audio_tokens * s.price_gemini_input_audio_per_m
              + usage.input_text_tokens * s.price_gemini_input_text_per_m
              + usage.output_audio_tokens * s.price_gemini_output_audio_per_m
              + (usage.output_text_tokens + usage.report_tokens) * s.price_gemini_output_text_per_m) / PER_MILLION
    return CallCost(billed_minutes=minutes, telephony=round(telephony, 6), gemini=round(gemini, 6),
                    total=round(telephony + gemini, 6), currency=s.price_currency)
