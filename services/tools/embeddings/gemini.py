"""gemini-embedding-001 through google-genai (``client.aio.models.embed_content``),
at a reduced dimensionality that pgvector can index, re-normalised."""

from __future__ import annotations

import numpy as np
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from .base import EmbeddingError, normalised

MAX_BATCH = 100  # batchEmbedContents limit


class GeminiEmbedder:
    def __init__(self, client: genai.Client, model: str = "gemini-embedding-001", dims: int = 768) -> None:
        if not 1 <= dims <= 2000:
            raise ValueError("pgvector indexes vectors of at most 2000 dimensions")
        self.client = client
        self.base_model = model
        self.dims = dims
        self.model = f"{model}@{dims}"

    async def _embed(self, texts: list[str], task_type: str) -> list[list[float]]:
        config = types.EmbedContentConfig(task_type=task_type, output_dimensionality=self.dims)
        try:
            response = await self.client.aio.models.embed_content(
                model=self.base_model, contents=texts, config=config)
        except genai_errors.APIError as exc:
            retryable = exc.code in (408, 429) or (exc.code or 0) >= 500
            raise EmbeddingError(f"gemini embeddings failed: {exc.code} {exc.status}", retryable) from exc
        except OSError as exc:
            raise EmbeddingError(f"gemini embeddings unreachable: {exc}") from exc
        vectors = np.array([e.values for e in response.embeddings or []], dtype=np.float32)
        if vectors.shape != (len(texts), self.dims):
            raise EmbeddingError(f"gemini returned vectors of shape {vectors.shape}", retryable=False)
        embedded: list[list[float]] = normalised(vectors).tolist()
        return embedded

    async def embed_query(self, text: str) -> list[float]:
        return (await self._embed([text], "RETRIEVAL_QUERY"))[0]

    async def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), MAX_BATCH):
            vectors.extend(await self._embed(texts[start:start + MAX_BATCH], "RETRIEVAL_DOCUMENT"))
        return vectors
