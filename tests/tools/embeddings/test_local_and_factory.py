"""The local MiniLM embedder (pinned files, normalised vectors) and provider selection."""

import dataclasses
import shutil

import numpy as np
import pytest

from services.common.settings import Settings
from services.tools.embeddings import EmbeddingError, make_embedder
from services.tools.embeddings.factory import provider_name
from services.tools.embeddings.gemini import GeminiEmbedder
from services.tools.embeddings.local import VENDORED_TOKENIZER, LocalMiniLM


async def test_vectors_are_normalised_and_semantic():
    embedder = LocalMiniLM()
    cold, heater, wifi = [np.array(await embedder.embed_query(t)) for t in
                          ("the shower water is freezing", "No hot water: relight the water heater pilot",
                           "Wi-Fi password and router reset")]
    assert cold.shape == (384,) and abs(np.linalg.norm(cold) - 1) < 1e-5
    assert cold @ heater > cold @ wifi + 0.1


async def test_documents_in_batches_match_single_queries():
    embedder = LocalMiniLM()
    texts = ["short", "a much longer sentence about the garbage disposal humming but not spinning"] * 9
    batch = np.array(await embedder.embed_documents(texts, batch_size=4))
    single = np.array(await embedder.embed_query(texts[1]))
    assert batch.shape == (18, 384)
    assert float(batch[1] @ single) > 0.9999


def test_a_tampered_tokenizer_is_refused(tmp_path):
    tampered = tmp_path / "tokenizer.json"
    shutil.copy(VENDORED_TOKENIZER, tampered)
    tampered.write_bytes(tampered.read_bytes().replace(b'"[UNK]"', b'"[UNX]"', 1))
    with pytest.raises(EmbeddingError, match="does not match the pinned"):
        LocalMiniLM(str(tampered)).load()


def _settings(**changes) -> Settings:
    return dataclasses.replace(Settings(service="tools"), **changes)


def test_provider_defaults_to_local_without_a_gemini_key():
    assert provider_name(_settings()) == "local"
    assert provider_name(_settings(gemini_api_key="k")) == "gemini"
    assert provider_name(_settings(gemini_api_key="k", embedding_provider="local")) == "local"
    assert isinstance(make_embedder(_settings()), LocalMiniLM)


def test_gemini_provider_is_built_from_settings():
    embedder = make_embedder(_settings(embedding_provider="gemini", gemini_api_key="k",
                                       gemini_base_url="http://127.0.0.1:9", gemini_embedding_dims=1536))
    assert isinstance(embedder, GeminiEmbedder)
    assert (embedder.model, embedder.dims) == ("gemini-embedding-001@1536", 1536)


def test_bad_provider_configuration_fails_fast():
    with pytest.raises(ValueError, match="EMBEDDING_PROVIDER"):
        make_embedder(_settings(embedding_provider="word2vec"))
    with pytest.raises(ValueError, match="GEMINI_API_KEY"):
        make_embedder(_settings(embedding_provider="gemini"))
    with pytest.raises(ValueError, match="2000"):
        make_embedder(_settings(embedding_provider="gemini", gemini_api_key="k", gemini_embedding_dims=3072))


async def test_gemini_errors_become_embedding_errors():
    from emulators.gemini.server import GeminiEmulator

    emulator = await GeminiEmulator({"name": "embeddings-only", "steps": []}, api_key="right").start()
    try:
        wrong_key = GeminiEmbedder(emulator.client("v1").__class__(
            api_key="wrong", http_options=emulator.http_options("v1")))
        with pytest.raises(EmbeddingError) as bad_key:
            await wrong_key.embed_query("hello")
        assert not bad_key.value.retryable
        emulator.fail_next(503)
        with pytest.raises(EmbeddingError) as overloaded:
            await GeminiEmbedder(emulator.client("v1")).embed_query("hello")
        assert overloaded.value.retryable
    finally:
        await emulator.stop()
