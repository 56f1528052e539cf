"""Quote analysis: a Gemini Flash model with structured JSON output picks the vendor to
recommend; cheapest-then-earliest is the fallback when Gemini is unavailable or answers
something unusable."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from services.common import gemini
from services.common.settings import Settings

from .jobs import IncidentJob, VendorChoice, VendorQuote

SYSTEM_INSTRUCTION = (
    "You help a short-term-rental property manager choose a repair vendor. Compare the quotes: "
    "price, how soon the vendor can start, the vendor's rating and the urgency of the problem. "
    "Recommend exactly one vendor_id from the quotes and give a one-sentence reason a landlord "
    "can hear on the phone.")


class Recommendation(BaseModel):
    vendor_id: str = Field(description="vendor_id of the recommended quote")
    reason: str = Field(description="one sentence: why this vendor")


class UnusableAnswer(Exception):
    """Gemini answered, but not with one of the quoted vendors."""


def make_client(settings: Settings) -> Any:
    """A google-genai client for REST calls, or None without an API key (fallback only)."""
    if not settings.gemini_api_key:
        return None
    return gemini.make_client(settings, timeout_s=settings.outreach_analysis_timeout_s)


def prompt(job: IncidentJob, quotes: list[VendorQuote]) -> str:
    lines = [f"Problem ({job.category}, severity {job.severity}) at {job.property_name}: "
             f"{job.description}", "Quotes (JSON):"]
    lines += [json.dumps({k: getattr(q, k, None) for k in ("vendor_id", "vendor_name", "rating", "price", "currency",
                                                            "earliest_start", "notes")}) for q in quotes]
    return "\n".join(lines)


async def ask_gemini(client: Any, model: str, job: IncidentJob, quotes: list[VendorQuote]) -> VendorChoice:
    from google.genai import types

    response = await client.aio.models.generate_content(
        model=model, contents=prompt(job, quotes),
        config=types.GenerateContentConfig(system_instruction=SYSTEM_INSTRUCTION, temperature=0.0,
                                           response_mime_type="application/json",
                                           response_schema=Recommendation))
    parsed = response.parsed if isinstance(response.parsed, Recommendation) \
        else Recommendation.model_validate_json(response.text or "")
    if parsed.vendor_id not in {q.vendor_id for q in quotes}:
        raise UnusableAnswer(f"Gemini recommended {parsed.vendor_id!r}, which did not quote")
    return VendorChoice(vendor_id=parsed.vendor_id, reason=parsed.reason.strip()[:500], source="gemini")


def cheapest_earliest(quotes: list[VendorQuote]) -> VendorChoice:
    """Lowest price; among equal prices the earliest start (unknown starts last)."""
    best = min(quotes, key=lambda q: (q.price, q.earliest_start or "9999", q.vendor_id))
    when = f", earliest start {best.earliest_start}" if best.earliest_start else ""
    return VendorChoice(vendor_id=best.vendor_id, source="fallback",
                        reason=f"lowest price ({best.price:.2f} {best.currency}){when}")
