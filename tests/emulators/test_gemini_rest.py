"""google-genai REST calls (sync httpx2 and async aiohttp backends) against the emulator."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest
from google.genai import errors, types
from pydantic import BaseModel


class Item(BaseModel):
    description: str
    quantity: int
    unit_price: float


class Quote(BaseModel):
    vendor: str
    total_price: float
    currency: str
    line_items: list[Item]


def _cos(a, b) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


async def test_embeddings_dimensions_norm_and_similarity(gemini):
    client = gemini.client()
    texts = ["kitchen sink is leaking", "the kitchen sink leaks water", "wifi password not working"]
    resp = await client.aio.models.embed_content(
        model="gemini-embedding-001", contents=texts,
        config=types.EmbedContentConfig(task_type="RETRIEVAL_DOCUMENT", output_dimensionality=768))
    vecs = [e.values for e in resp.embeddings]
    assert [len(v) for v in vecs] == [768, 768, 768]
    assert all(abs(np.linalg.norm(v) - 1) < 1e-5 for v in vecs)
    assert _cos(vecs[0], vecs[1]) > 0.5 > _cos(vecs[0], vecs[2])
    sync = await asyncio.to_thread(client.models.embed_content, model="gemini-embedding-001",
                                   contents=texts[0],
                                   config=types.EmbedContentConfig(output_dimensionality=768))
    assert sync.embeddings[0].values == vecs[0]  # deterministic
    full = await client.aio.models.embed_content(model="gemini-embedding-001", contents="x")
    assert len(full.embeddings[0].values) == 3072
    assert gemini.rest_requests[0]["method"] == "batchEmbedContents"


async def test_generate_content_pydantic_schema_default_and_scripted(gemini):
    client = gemini.client()
    cfg = types.GenerateContentConfig(response_mime_type="application/json", response_schema=Quote)
    default = await client.aio.models.generate_content(model="gemini-3.8-flash", contents="Quote?", config=cfg)
    assert isinstance(default.parsed, Quote) and len(default.parsed.line_items) == 1
    answer = {"vendor": "Acme Plumbing", "total_price": 240.0, "currency": "USD",
              "line_items": [{"description": "Replace trap", "quantity": 1, "unit_price": 240.0}]}
    gemini.script_generate(r"acme", json=answer, times=1)
    r = await asyncio.to_thread(client.models.generate_content, model="gemini-3.8-flash",
                                contents="Extract: ACME quotes $240", config=cfg)
    assert r.parsed == Quote(**answer)
    body = gemini.rest_requests[-1]["body"]
    assert body["generationConfig"]["responseSchema"]["properties"]["vendor"]["type"] == "STRING"


async def test_generate_content_json_schema_and_text(gemini):
    client = gemini.client()
    cfg = types.GenerateContentConfig(response_mime_type="application/json",
                                      response_json_schema=Quote.model_json_schema())
    r = await client.aio.models.generate_content(model="gemini-3.8-flash", contents="x", config=cfg)
    assert set(r.parsed) == {"vendor", "total_price", "currency", "line_items"}
    assert isinstance(r.parsed["line_items"][0]["quantity"], int)
    gemini.script_generate(None, text="Plain answer.")
    t = await client.aio.models.generate_content(model="gemini-3.8-flash", contents="hello")
    assert t.text == "Plain answer." and t.usage_metadata.total_token_count > 0


@pytest.mark.parametrize("status,exc_type,state", [
    (429, errors.ClientError, "RESOURCE_EXHAUSTED"), (503, errors.ServerError, "UNAVAILABLE"),
    (500, errors.ServerError, "INTERNAL")])
async def test_injected_failures_in_google_error_format(gemini, status, exc_type, state):
    gemini.fail_next(status)
    client = gemini.client()  # keep a reference: a collected Client closes its transports
    with pytest.raises(exc_type) as exc:
        await client.aio.models.embed_content(model="gemini-embedding-001", contents="x")
    assert exc.value.code == status and exc.value.status == state
    ok = await client.aio.models.embed_content(model="gemini-embedding-001", contents="x")
    assert ok.embeddings  # only the next call failed


async def test_retry_options_recover_from_429(gemini):
    gemini.fail_next(429, times=2)
    client = gemini.client(retry_options=types.HttpRetryOptions(
        attempts=3, initial_delay=0.01, max_delay=0.02, http_status_codes=[429]))
    r = await client.aio.models.embed_content(model="gemini-embedding-001", contents="x")
    assert r.embeddings and len(gemini.rest_requests) == 3


async def test_bad_key_and_unknown_model(gemini):
    from google import genai
    bad = genai.Client(api_key="nope", http_options=gemini.http_options())
    with pytest.raises(errors.ClientError) as exc:
        await bad.aio.models.embed_content(model="gemini-embedding-001", contents="x")
    assert exc.value.code == 400 and exc.value.message == "API key not valid. Please pass a valid API key."
    assert exc.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    with pytest.raises(errors.ClientError) as nf:
        good = gemini.client()
        await asyncio.to_thread(good.models.generate_content,
                                model="no-such-model", contents="x")
    assert nf.value.code == 404 and nf.value.status == "NOT_FOUND"
