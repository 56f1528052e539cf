"""The embedder interface every provider implements."""

from __future__ import annotations

import re
from typing import Protocol

import numpy as np

MODEL_NAME = re.compile(r"^[A-Za-z0-9@._-]{1,100}$")


class EmbeddingError(Exception):
    """The provider could not embed (unreachable, quota, bad answer)."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Embedder(Protocol):
    model: str  # stored in kb_embeddings.model; vectors of different models never mix
    dims: int

    async def embed_query(self, text: str) -> list[float]: ...
    async def embed_documents(self, texts: list[str]) -> list[list[float]]: ...


def normalised(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise rows (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)
