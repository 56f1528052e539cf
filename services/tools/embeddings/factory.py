"""Pick the embedding provider from the settings."""

from __future__ import annotations

from services.common import gemini
from services.common.settings import Settings

from .base import Embedder
from .local import LocalMiniLM

PROVIDERS = ("local", "gemini")


def provider_name(settings: Settings) -> str:
    name = settings.embedding_provider or ("gemini" if settings.gemini_api_key else "local")
    if name not in PROVIDERS:
        raise ValueError(f"EMBEDDING_PROVIDER must be one of {', '.join(PROVIDERS)}, not {name!r}")
    return name


def make_embedder(settings: Settings) -> Embedder:
    if provider_name(settings) == "local":
        return LocalMiniLM()
    if not settings.gemini_api_key:
        raise ValueError("EMBEDDING_PROVIDER=gemini needs GEMINI_API_KEY")
    from .gemini import GeminiEmbedder

    return GeminiEmbedder(gemini.make_client(settings), settings.gemini_embedding_model, settings.gemini_embedding_dims)
