"""Pick the embedding provider from the settings."""

from __future__ import annotations

import ssl

from services.common.settings import Settings

from .base import Embedder
from .local import LocalMiniLM

PROVIDERS = ("local", "gemini")


def provider_name(settings: Settings) -> str:
    name = settings.embedding_provider or ("gemini" if settings.gemini_api_key else "local")
    if name not in PROVIDERS:
        raise ValueError(f"EMBEDDING_PROVIDER must be one of {', '.join(PROVIDERS)}, not {name!r}")
    return name


def gemini_client(settings: Settings):
    from google import genai
    from google.genai import types

    options: dict = {"api_version": settings.gemini_api_version}
    if settings.gemini_base_url:
        options["base_url"] = settings.gemini_base_url
    if settings.gemini_ca_file:
        ctx = ssl.create_default_context(cafile=settings.gemini_ca_file)
        options["client_args"] = {"verify": ctx}
        options["async_client_args"] = {"ssl": ctx, "verify": ctx}
    return genai.Client(api_key=settings.gemini_api_key, http_options=types.HttpOptions(**options))


def make_embedder(settings: Settings) -> Embedder:
    if provider_name(settings) == "local":
        return LocalMiniLM()
    if not settings.gemini_api_key:
        raise ValueError("EMBEDDING_PROVIDER=gemini needs GEMINI_API_KEY")
    from .gemini import GeminiEmbedder

    return GeminiEmbedder(gemini_client(settings), settings.gemini_embedding_model, settings.gemini_embedding_dims)
